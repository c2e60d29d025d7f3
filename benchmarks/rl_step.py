"""Where one RL (GRPO) step spends its time: generation, teacher-forced forward, backward.

A tiny random model (compact tokenizer) on image-text and text-text pairs; the rollouts of a
random model run to the completion budget, which is the worst case for generation. The forward
time includes the reference model's forward (beta > 0) and the reward. Medians over steps.
Run: python benchmarks/rl_step.py [--quick]  (writes benchmarks/results/rl_step.json)
"""
from __future__ import annotations

import json
import statistics
import sys
import tempfile
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "rl_step.json"


def run(quick: bool = True) -> dict:
    import torch
    from PIL import Image

    from umer1.utils.config import from_dict
    from umer1.engine.tiny import make_tiny_model
    from umer1.train.rl import RLConfig, RLTrainer

    torch.manual_seed(0)
    size = dict(hidden_size=64, num_layers=2) if quick else dict(hidden_size=256, num_layers=4)
    pairs, G, budget, steps = (2, 4, 32, 3) if quick else (4, 8, 128, 5)
    tmp = Path(tempfile.mkdtemp())
    model = make_tiny_model(tmp / "m", **size)
    Image.new("RGB", (112, 112), (200, 30, 30)).save(tmp / "a.png")
    rows = [{"qry_text": "Represent the given image", "qry_image": "a.png", "pos_text": "a red square"},
            {"qry_text": "what is a cat", "pos_text": "a small feline"}]
    (tmp / "rl.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows * 8))
    cfg = from_dict(RLConfig, {
        "model": {"base": str(model)},
        "data": {"train_file": str(tmp / "rl.jsonl"), "pairs_per_device": pairs},
        "rollout": {"num_generations": G, "max_completion_length": budget},
        "grpo": {"beta": 0.04}, "optim": {"lr": 1e-5},
        "train": {"output_dir": str(tmp / "run"), "steps": steps + 1,
                  "cpu": not torch.cuda.is_available(), "plot": False}})
    trainer = RLTrainer(cfg)
    trainer.train_step()                      # warm-up
    ms = [trainer.train_step() for _ in range(steps)]
    med = {k: statistics.median(m[k] for m in ms) for k in ("time_generation", "time_forward", "time_backward")}
    total = sum(med.values())
    out_rows = [{"metric": f"{k[5:]} per step", "value": round(v, 4), "unit": "s",
                 "note": f"{100 * v / total:.0f}% of the step"} for k, v in med.items()]
    return {"rows": out_rows, "step_seconds": round(total, 4),
            "fractions": {k[5:]: round(v / total, 3) for k, v in med.items()},
            "setup": {"hidden_size": size["hidden_size"], "layers": size["num_layers"], "pairs": pairs,
                      "num_generations": G, "max_completion_length": budget,
                      "mean_completion_length": statistics.mean(m["completion_length"] for m in ms),
                      "device": "cuda" if torch.cuda.is_available() else "cpu"}}


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    res = run(quick=quick)
    res["quick"] = quick
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))
