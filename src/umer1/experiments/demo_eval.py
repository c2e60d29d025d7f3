"""Per-query evaluation of a demo model: what the gap between gen and disc is made of.

For every held-out query of every task, in one place (the general harness, `umer1.eval`,
scores modes but keeps no generated text, and the decomposition needs it):
- disc: the `<disc_emb>` embeddings of query and candidates rank the gold first;
- gen: the same with the embeddings read at `<gen_emb>` after the model's own greedy traces;
- gold: gen with the GOLD traces teacher-forced on both sides (the ceiling of the reasoning
  path: what the gen embedding gives when the trace is right);
- found: the model wrote `<gen_emb>` itself (not forced at the token budget);
- facts: the share of the facts the task needs that the generated trace states (the scenes
  know the truth: `eval/<task>/gold.jsonl`), and whether its summary is the gold one;
- passk: per sampled gen embedding (temperature > 0), whether it ranks the gold first.
A hit is strict: the gold must score ABOVE every other candidate of its pool (a tie counts
against it). Written to OUT/<task>.jsonl, one row per query, and OUT/scores.json.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from umer1.utils.files import write_json, write_jsonl


@dataclass
class EvalSettings:
    max_new_tokens: int = 80
    batch_size: int = 16
    num_samples: int = 1         # > 1: pass@k samples per query
    temperature: float = 1.0
    seed: int = 0


def hits(q: np.ndarray, c: np.ndarray, pools: list[list[int]], labels: list[dict]) -> list[bool]:
    """Per query: its gold candidate scores strictly above every other candidate of its pool."""
    out = []
    for i, (pool, lab) in enumerate(zip(pools, labels)):
        s = c[pool] @ q[i]
        gold = [j for j, idx in enumerate(pool) if idx in lab]
        others = [s[j] for j in range(len(pool)) if j not in gold]
        out.append(bool(max(s[j] for j in gold) > max(others, default=-np.inf)))
    return out


def facts_stated(text: str, facts: list[str]) -> float:
    """Share of the needed facts the trace states (a fact needed twice must appear twice)."""
    if not facts:
        return 1.0
    need: dict[str, int] = {}
    for f in facts:
        need[f] = need.get(f, 0) + 1
    return sum(min(text.count(f), n) for f, n in need.items()) / len(facts)


def summary_of(text: str) -> str:
    """The summary a generated text gives: what follows `<answer>`, up to the end."""
    m = re.search(r"<answer>(.*)", text, flags=re.S)
    return m.group(1).replace("<gen_emb>", "").strip() if m else ""


@torch.no_grad()
def teacher_forced_gen(model, items, answers: list[str], batch_size: int) -> np.ndarray:
    """Gen embeddings read at the last `<gen_emb>` of prompt + the given assistant text."""
    from umer1.engine.positions import gather, gen_positions, normalize
    out = np.zeros((len(items), model.hidden_size), np.float32)
    for start in range(0, len(items), batch_size):
        batch = model.batch(items[start:start + batch_size], assistant=answers[start:start + batch_size])
        hidden = model.last_hidden_state(batch)
        # The gold answer ends with <gen_emb>, so the row's last one is the answer's own.
        pos = gen_positions(batch["input_ids"], model.ids.gen, 0)
        out[start:start + len(pos)] = normalize(gather(hidden, pos)).cpu().numpy()
    return out


def evaluate_task(model, spec, root: Path, opts: EvalSettings) -> tuple[list[dict], dict]:
    from umer1.eval import load_task
    data = load_task(spec, root)
    gold_rows = [json.loads(line) for line in
                 (root / spec.data / "gold.jsonl").read_text(encoding="utf-8").splitlines()]
    cand_gold: dict[int, dict] = {}
    for pool, row in zip(data.pools, gold_rows):
        for idx, g in zip(pool, row["candidates"]):
            cand_gold[idx] = g
    used = sorted(cand_gold)
    b, n = opts.batch_size, opts.max_new_tokens
    q_gen = model.generate(data.queries, batch_size=b, max_new_tokens=n)
    c_gen = model.generate([data.candidates[j] for j in used], batch_size=b, max_new_tokens=n)

    def full(sub: np.ndarray) -> np.ndarray:   # candidate rows by candidate index
        c = np.zeros((len(data.candidates), sub.shape[-1]), np.float32)
        c[used] = sub
        return c

    q_gold = teacher_forced_gen(model, data.queries, [g["query"]["answer"] for g in gold_rows], b)
    c_gold = teacher_forced_gen(model, [data.candidates[j] for j in used],
                                [cand_gold[j]["answer"] for j in used], b)
    pools, labels = data.pools, data.labels
    disc = hits(q_gen.disc_embeddings, full(c_gen.disc_embeddings), pools, labels)
    gen = hits(q_gen.embeddings, full(c_gen.embeddings), pools, labels)
    gold = hits(q_gold, full(c_gold), pools, labels)
    passk = None
    if opts.num_samples > 1:
        s = model.generate(data.queries, batch_size=b, max_new_tokens=n, temperature=opts.temperature,
                           num_samples=opts.num_samples, seed=opts.seed)
        c = full(c_gen.embeddings)
        passk = np.array([hits(np.ascontiguousarray(s.embeddings[:, k]), c, pools, labels)
                          for k in range(opts.num_samples)]).T
    cand_found = dict(zip(used, c_gen.found.tolist()))
    rows = []
    for i, g in enumerate(gold_rows):
        text = q_gen.texts[i]
        rows.append({"query_id": data.query_ids[i], "disc": disc[i], "gen": gen[i], "gold": gold[i],
                     "found": bool(q_gen.found[i]),
                     "candidates_found": float(np.mean([cand_found[j] for j in pools[i]])),
                     "facts": facts_stated(text, g["query"]["facts"]),
                     "summary_right": summary_of(text) == g["query"]["summary"],
                     "passk": None if passk is None else passk[i].tolist(), "text": text})
    chance = float(np.mean([1 / len(p) for p in pools]))
    return rows, {"chance": chance, "queries": len(rows)}


def evaluate_model(model_dir: str | Path, tasks_file: str | Path, out_dir: str | Path,
                   opts: EvalSettings) -> dict:
    """Evaluate every task of the registry; returns {"dir", "tasks": {name: {chance, queries}}}."""
    from umer1.engine.model import UMEModel
    from umer1.eval import resolve_tasks
    specs, root = resolve_tasks(tasks_file)
    model = UMEModel.from_pretrained(model_dir)
    out = Path(out_dir)
    tasks = {}
    for spec in specs:
        rows, info = evaluate_task(model, spec, Path(root), opts)
        write_jsonl(out / f"{spec.name}.jsonl", rows)
        tasks[spec.name] = info
    result = {"dir": str(out), "model": str(model_dir), "settings": asdict(opts), "tasks": tasks}
    write_json(out / "scores.json", result)
    return result


def read_rows(eval_dir: str | Path, task: str) -> list[dict]:
    path = Path(eval_dir) / f"{task}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
