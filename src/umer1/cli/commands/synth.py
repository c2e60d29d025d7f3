"""`umer1 synth OUT_DIR`: write the synthetic shapes dataset (SFT, RL, held-out evaluation)."""
from __future__ import annotations

NAME = "synth"
HELP = "generate synthetic reasoning-retrieval data: SFT records, RL pairs, held-out eval tasks"


def add_arguments(p):
    p.add_argument("out_dir", help="output folder (must be empty or absent, unless --overwrite)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train", type=int, default=1024, help="SFT pairs in all (split over tasks)")
    p.add_argument("--rl", type=int, default=256, help="RL pairs in all (scenes not used by SFT)")
    p.add_argument("--eval", type=int, default=64, help="held-out queries per task")
    p.add_argument("--candidates", type=int, default=8, help="candidates per held-out query")
    p.add_argument("--tasks", default="t2i,i2t,cls,vqa",
                   help="comma-separated subset of t2i,i2t,cls,vqa (perception) and count,hop (reasoning)")
    p.add_argument("--image-size", type=int, default=84, help="pixels per side (84 = 3x3 visual tokens)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT_DIR if it holds files")


def run(args) -> int:
    import json

    from umer1.experiments.synthetic import generate_dataset

    paths = generate_dataset(args.out_dir, seed=args.seed, train=args.train, rl=args.rl,
                             eval=args.eval, tasks=tuple(t.strip() for t in args.tasks.split(",") if t.strip()),
                             candidates=args.candidates, image_size=args.image_size,
                             overwrite=args.overwrite)
    manifest = json.loads(paths.manifest.read_text())
    print(f"wrote {manifest['counts']['sft']} SFT pairs ({paths.sft}), {manifest['counts']['rl']} RL "
          f"pairs ({paths.rl}) and held-out tasks ({paths.tasks}):")
    for task, n in manifest["counts"]["eval"].items():
        print(f"  {task}: {n} queries, chance Hit@1 {manifest['chance_hit@1'][task]:.3f}")
    return 0
