#!/usr/bin/env bash
# MMEB-V2 from an empty disk to scores next to the published ones: download + prepare, eval in disc and gen
# mode (and the oracle), report. See docs/reproduce-mmeb-v2.md.
#
#   scripts/reproduce_mmeb_v2.sh MODEL DATA_ROOT OUT [ume-r1|vlm2vec-current] [extra umer1 eval options...]
#
# ume-r1 (default): the instruction set and OOD split of UME-R1's published table (spec section 7).
# vlm2vec-current: today's official harness, page-fixed OOD sets (reported under *-page-fixed).
# GPUs: NUM_GPUS=8 runs eval under `accelerate launch`. Reruns resume from the embedding cache.
set -euo pipefail

MODEL=${1:?model dir or hub id (e.g. zhibinlan/UME-R1-2B)}
ROOT=${2:?data root (needs a few hundred GB, see the doc)}
OUT=${3:?output dir}
SET=${4:-ume-r1}
shift $(( $# < 4 ? $# : 4 ))
case "$SET" in
  ume-r1) OOD=original ;;
  vlm2vec-current) OOD=page-fixed ;;
  *) echo "instruction set must be ume-r1 or vlm2vec-current" >&2; exit 2 ;;
esac
NUM_GPUS=${NUM_GPUS:-1}
REGISTRY="$ROOT/mmeb_v2_${SET}_${OOD}.yaml"

# 1. fetch what is missing and convert (idempotent: present sources are not fetched again)
umer1 data prepare --root "$ROOT" --instructions "$SET" --ood-split "$OOD" --download
umer1 data check --tasks "$REGISTRY" --data-root "$ROOT" --json "$OUT/data_check.json"

# 2. both modes (gen first; its prefill gives the disc embeddings) and the oracle
if [ "$NUM_GPUS" -gt 1 ]; then
  RUN=(accelerate launch --num_processes "$NUM_GPUS" -m umer1.cli)
else
  RUN=(umer1)
fi
"${RUN[@]}" eval --model "$MODEL" --tasks "$REGISTRY" --data-root "$ROOT" --output "$OUT" \
  --mode both --dtype bfloat16 "$@"

# 3. the report: per-modality means (x100) next to the published table
python - "$OUT" "$SET" <<'EOF'
import json, sys
out, instruction_set = sys.argv[1], sys.argv[2]
summary = json.load(open(f"{out}/summary.json"))
published = {"UME-R1-2B": (66.6, 42.2, 63.9, 60.1), "UME-R1-7B": (71.3, 47.5, 67.1, 64.5),
             "VLM2Vec-V2 (2B)": (64.9, 34.9, 65.4, 58.0)}
rows = ["| run | Image | Video | VisDoc | All |", "|---|---|---|---|---|"]
for mode, agg in summary["modes"].items():
    m = agg["modality"]
    cells = [m.get(k) for k in ("image", "video", "visdoc")] + [agg["overall"]]
    rows.append(f"| this model, {mode} ({instruction_set}) | " +
                " | ".join("-" if v is None else f"{100 * v:.1f}" for v in cells) + " |")
for name, vals in published.items():
    rows.append(f"| {name}, published | " + " | ".join(f"{v:.1f}" for v in vals) + " |")
note = ("Published rows used the original OOD page split and UME-R1's instructions; "
        "compare them with the ume-r1 run only.")
open(f"{out}/report.md", "w").write("\n".join(rows) + "\n\n" + note + "\n")
print("\n".join(rows)); print(note)
EOF
