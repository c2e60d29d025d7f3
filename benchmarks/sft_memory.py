"""Peak memory of one SFT step: last layer only (umer1.engine.forward.TeacherForced) vs all hidden
states plus full-vocabulary logits (what the reference's forward keeps).

Each variant runs in a fresh process. On a GPU the figure is torch.cuda.max_memory_allocated
over the step; on the CPU it is the rise of the process's peak resident memory during the step
(ru_maxrss), a coarser measure. Run: python benchmarks/sft_memory.py [--quick]
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "sft_memory.json"


def _step(variant: str, quick: bool) -> dict:
    import resource

    import torch
    from PIL import Image

    from umer1.data.sft import SFTPair, SFTSide
    from umer1.engine.positions import gather, normalize
    from umer1.engine.forward import TeacherForced
    from umer1.train.sft.losses import info_nce, ntp_loss
    from umer1.engine.model import UMEModel
    from umer1.engine.prompts import GENERATION_PROMPT
    from umer1.engine.tiny import make_tiny_model
    from umer1.train.sft.collate import SFTCollator

    torch.manual_seed(0)
    size = dict(hidden_size=64, num_layers=2, tokenizer="compact") if quick else \
        dict(hidden_size=512, num_layers=8, tokenizer="qwen")
    n_pairs, reasoning = (4, 20) if quick else (2, 40)
    tmp = Path(tempfile.mkdtemp())
    ume = UMEModel.from_pretrained(make_tiny_model(tmp / "m", **size))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    ume.model.to(device).train()
    img = tmp / "a.png"
    Image.new("RGB", (224, 224), (200, 30, 30)).save(img)
    human = f"<image>\nRepresent the given image\n<disc_emb>\n{GENERATION_PROMPT}"
    answer = "<think>" + "the picture is red and square. " * reasoning + "</think><answer>red\n<gen_emb>"
    side = SFTSide(human, answer, [str(img)])
    pairs = [SFTPair("d", side, side, i + 1) for i in range(n_pairs)]
    batch = SFTCollator(ume.processor, ume.settings, gen_id=ume.ids.gen,
                        disc_id=ume.ids.disc)(pairs).side.to(device)
    n = n_pairs
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
    else:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if variant == "last_layer":
        out = TeacherForced(ume.model)(batch.inputs, batch.score_mask)
        hidden, lp = out.hidden, out.logprobs
    else:  # all layers' states and (L x vocab) logits, as the reference keeps them
        res = ume.hf_model(**batch.inputs, output_hidden_states=True, use_cache=False)
        hidden = res.hidden_states[-1]
        logp = torch.log_softmax(res.logits.float()[:, :-1], dim=-1)
        tok = logp.gather(2, batch.inputs["input_ids"][:, 1:].unsqueeze(2)).squeeze(2)
        lp = torch.cat([torch.zeros_like(tok[:, :1]), tok], dim=1)
    disc = normalize(gather(hidden, batch.disc_pos))
    gen = normalize(gather(hidden, batch.gen_pos))
    loss = (info_nce(gen[:n], gen[n:]) + info_nce(disc[:n], disc[n:])
            + ntp_loss(lp[:n], batch.score_mask[:n]) + ntp_loss(lp[n:], batch.score_mask[n:]))
    loss.backward()
    if device == "cuda":
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() - before
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    return {"variant": variant, "device": device, "peak_bytes": int(peak),
            "tokens": int(batch.inputs["attention_mask"].sum()), "rows": 2 * n,
            "seq_len": int(batch.inputs["input_ids"].shape[1]), "loss": float(loss), **size}


def run(quick: bool = False) -> dict:
    """Both variants, each in a fresh process; returns the figures and their ratio."""
    results = {}
    for variant in ("last_layer", "all_layers"):
        code = (f"import json,sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
                f"import sft_memory as m; print(json.dumps(m._step({variant!r}, {quick})))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        results[variant] = json.loads(out.stdout.strip().splitlines()[-1])
    last, full = results["last_layer"]["peak_bytes"], results["all_layers"]["peak_bytes"]
    size = results["last_layer"]
    rows = [{"metric": "SFT step peak memory rise, last layer only", "value": last / 2 ** 30,
             "unit": "GiB", "baseline": full / 2 ** 30,
             "baseline_name": "all hidden states + full-vocabulary logits",
             "ratio": full / max(last, 1),
             "note": f"hidden {size['hidden_size']}, {size['num_layers']} layers, "
                     f"{size['rows']} rows x {size['seq_len']} tokens, same loss"}]
    return {"quick": quick, "rows": rows, **results,
            "ratio_all_over_last": round(full / max(last, 1), 3)}


if __name__ == "__main__":
    res = run(quick="--quick" in sys.argv)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))
