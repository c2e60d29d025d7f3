"""Write a synthetic dataset: SFT records, RL pairs and a held-out evaluation split.

Layout of OUT_DIR (paths in records are relative to the file's folder, the readers' default):
    train/sft.jsonl   UME-sft-train records (spec section 3), grouped in runs of one task
    train/rl.jsonl    UME-rl-train pairs (no reasoning), scenes not used by SFT
    train/images/     their images; train/scenes.jsonl: the scene behind each image
    eval/tasks.yaml   the evaluation registry (layout mmeb_image, local ranking)
    eval/<task>/test.jsonl, eval/images/, eval/scenes.jsonl   held-out scenes: never in train/
    eval/<task>/gold.jsonl   per query: the gold trace of the query and of every candidate, and
                      the facts each trace must state (for teacher forcing and fact checks)
    manifest.json     seed, sizes, counts and chance level per task
The whole folder is built beside OUT_DIR and renamed into place: no partial dataset.
"""
from __future__ import annotations

import logging
import random
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from umer1.utils.errors import InputError
from umer1.utils.files import write_json, write_jsonl
from umer1.engine.prompts import GEN_TOKEN, IMAGE_PLACEHOLDER, user_text
from umer1.experiments.synthetic.registry import META_TASK, REASONING, TASKS, make_item
from umer1.experiments.synthetic.scenes import Scene, sample_scene
from umer1.experiments.synthetic.tasks import Item, Side, add_negatives

log = logging.getLogger(__name__)

GENERATOR_VERSION = "shapes/2"
TASK_PREFIX = "shapes_"
IMAGE_SIZE = 84          # 3x3 cells of 28 px: one merged visual token per cell


@dataclass
class DatasetPaths:
    root: Path
    sft: Path
    rl: Path
    tasks: Path          # eval/tasks.yaml
    manifest: Path


def answer_text(side: Side) -> str:
    """The assistant turn of an SFT side, as the released data writes it (no </answer>)."""
    return f"<think>{side.reasoning}</think><answer>{side.summary}\n{GEN_TOKEN}"


class _Images:
    """Renders image sides to `folder`, hands back paths relative to `base`, and remembers
    each image's scene (written to scenes.jsonl: the ground truth behind every image)."""

    def __init__(self, base: Path, folder: str, size: int):
        self.base, self.folder, self.size = base, folder, size
        self.scenes: list[dict] = []
        (base / folder).mkdir(parents=True, exist_ok=True)

    def path(self, side: Side, name: str) -> str:
        rel = f"{self.folder}/{name}.png"
        side.scene.render(self.size, side.jitter).save(self.base / rel, format="PNG")
        self.scenes.append({"image": rel, "shapes": [[s.row, s.col, s.colour, s.kind, s.size]
                                                     for s in side.scene.shapes]})
        return rel

    def write_scenes(self) -> None:
        write_jsonl(self.base / "scenes.jsonl", self.scenes)


class _Sampler:
    """Scenes of one split; held-out splits refuse every scene signature seen in training."""

    def __init__(self, exclude: set | None = None, record: set | None = None):
        self.exclude, self.record = exclude, record

    def __call__(self, rng: random.Random, **kw) -> Scene:
        for _ in range(10_000):
            scene = sample_scene(rng, **kw)
            if self.exclude is None or scene.signature not in self.exclude:
                if self.record is not None:
                    self.record.add(scene.signature)
                return scene
        raise RuntimeError("could not sample a held-out scene: the training split covers the "
                           "scene space; use fewer training pairs")  # pragma: no cover


def _split(total: int, tasks: tuple[str, ...]) -> dict[str, int]:
    """`total` items over the tasks as evenly as possible (earlier tasks get the remainder)."""
    return {t: total // len(tasks) + (i < total % len(tasks)) for i, t in enumerate(tasks)}


def _groups(items: list[Item], size: int) -> list[list[Item]]:
    """Runs of `size` items whose targets differ where possible, so in-batch negatives are
    true negatives (classification and VQA targets repeat: 24 labels, 15 answers)."""
    pending, groups = list(items), []
    while pending:
        group, seen, rest = [], set(), []
        for it in pending:
            if len(group) < size and it.target.summary not in seen:
                group.append(it)
                seen.add(it.target.summary)
            else:
                rest.append(it)
        while len(group) < size and rest:   # not enough distinct targets left: fill anyway
            group.append(rest.pop(0))
        groups.append(group)
        pending = rest
    return groups


def _interleave(per_task: dict[str, list[Item]], size: int) -> list[Item]:
    """Whole runs of one task, the tasks taking turns (the reference's pre-grouped order)."""
    runs = {t: _groups(items, size) for t, items in per_task.items()}
    out: list[Item] = []
    for i in range(max((len(r) for r in runs.values()), default=0)):
        for t in per_task:
            if i < len(runs[t]):
                out.extend(runs[t][i])
    return out


def _sft_side(side: Side, images: _Images, name: str) -> dict:
    row: dict = {}
    if side.scene is not None:
        row["image"] = images.path(side, name)
    # No newline after <image>: the evaluation prompt (spec section 2) has none, and data we
    # write ourselves can train on exactly what the model is evaluated with.
    human = (IMAGE_PLACEHOLDER if side.scene is not None else "") + user_text(side.user_text)
    row["conversations"] = [{"from": "human", "value": human},
                            {"from": "gpt", "value": answer_text(side)}]
    return row


def _gold(side: Side) -> dict:
    return {"answer": answer_text(side), "summary": side.summary, "facts": side.facts}


def _rl_side(side: Side, images: _Images, name: str, key: str) -> dict:
    return {f"{key}_text": side.user_text,
            f"{key}_image": images.path(side, name) if side.scene is not None else "",
            f"{key}_video": []}


def _eval_row(item: Item, images: _Images, name: str) -> dict:
    q, cands = item.query, [item.target] + item.negatives
    return {"qry_inst": q.instruction, "qry_text": q.text,
            "qry_img_path": images.path(q, f"{name}-q") if q.scene is not None else "",
            "tgt_inst": item.target.instruction,
            "tgt_text": [c.text for c in cands],
            "tgt_img_path": [images.path(c, f"{name}-c{j}") if c.scene is not None else ""
                             for j, c in enumerate(cands)]}


def generate_dataset(out_dir: str | Path, seed: int = 0, train: int = 1024, rl: int = 256,
                     eval: int = 64, *, tasks: tuple[str, ...] = ("t2i", "i2t", "cls", "vqa"),
                     candidates: int = 8, group: int = 8, image_size: int = IMAGE_SIZE,
                     overwrite: bool = False) -> DatasetPaths:
    """Generate the dataset into `out_dir`; the same arguments always give the same bytes.

    train: SFT pairs in all; rl: RL pairs in all; eval: held-out queries PER task, each with
    `candidates` candidates (fewer where a task has fewer possible answers).
    """
    out = Path(out_dir)
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise InputError(f"unknown task(s) {', '.join(unknown)}; expected some of {', '.join(TASKS)}",
                         field="tasks")
    for name, value, low in (("train", train, 1), ("rl", rl, 0), ("eval", eval, 1),
                             ("candidates", candidates, 2), ("group", group, 1),
                             ("image_size", image_size, 28)):
        if value < low:
            raise InputError(f"must be at least {low}", field=name)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise InputError("exists and is not empty (overwrite it with --overwrite)", file=str(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        manifest = _write_all(tmp, seed, train, rl, eval, tasks, candidates, group, image_size)
        if out.exists():
            shutil.rmtree(out) if out.is_dir() else out.unlink()
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("wrote %d SFT pairs, %d RL pairs and %d held-out queries to %s",
             manifest["counts"]["sft"], manifest["counts"]["rl"], sum(manifest["counts"]["eval"].values()), out)
    return DatasetPaths(out, out / "train" / "sft.jsonl", out / "train" / "rl.jsonl",
                        out / "eval" / "tasks.yaml", out / "manifest.json")


def _write_all(root: Path, seed: int, n_train: int, n_rl: int, n_eval: int, tasks, candidates: int,
               group: int, image_size: int) -> dict:
    seen: set = set()
    train_images = _Images(root / "train", "images", image_size)

    # SFT and RL draw from separate streams, so changing one size leaves the other split as it was.
    sft_items = {t: _make(t, n, f"{seed}:sft:{t}", _Sampler(record=seen))
                 for t, n in _split(n_train, tasks).items()}
    sft_rows = []
    for i, it in enumerate(_interleave(sft_items, group)):
        sft_rows.append({"dataset_name": TASK_PREFIX + it.task,
                         "qry": _sft_side(it.query, train_images, f"sft{i:06d}-q"),
                         "pos": _sft_side(it.target, train_images, f"sft{i:06d}-p")})
    write_jsonl(root / "train" / "sft.jsonl", sft_rows)

    rl_items = {t: _make(t, n, f"{seed}:rl:{t}", _Sampler(record=seen))
                for t, n in _split(n_rl, tasks).items()}
    rl_rows = []
    for i, it in enumerate(_interleave(rl_items, group)):
        rl_rows.append({"dataset_name": TASK_PREFIX + it.task,
                        **_rl_side(it.query, train_images, f"rl{i:06d}-q", "qry"),
                        **_rl_side(it.target, train_images, f"rl{i:06d}-p", "pos")})
    write_jsonl(root / "train" / "rl.jsonl", rl_rows)
    train_images.write_scenes()

    held_out = _Sampler(exclude=seen)
    eval_images = _Images(root / "eval", "images", image_size)
    registry, chance, counts = [], {}, {}
    for t in tasks:
        rng = random.Random(f"{seed}:eval-negatives:{t}")
        items = [add_negatives(it, rng, candidates - 1)
                 for it in _make(t, n_eval, f"{seed}:eval:{t}", held_out)]
        name = TASK_PREFIX + t
        write_jsonl(root / "eval" / name / "test.jsonl",
                    [_eval_row(it, eval_images, f"{t}{i:05d}") for i, it in enumerate(items)])
        write_jsonl(root / "eval" / name / "gold.jsonl",
                    [{"query": _gold(it.query), "candidates": [_gold(c) for c in [it.target] + it.negatives]}
                     for it in items])
        chance[name] = sum(1 / (1 + len(it.negatives)) for it in items) / len(items)
        counts[name] = len(items)
        registry.append({"name": name, "modality": "image", "meta_task": META_TASK[t],
                         "layout": "mmeb_image", "data": name, "media": ".", "ranking": "local",
                         "metric": "hit@1", "revision": f"{GENERATOR_VERSION}-seed{seed}"})
    eval_images.write_scenes()
    (root / "eval" / "tasks.yaml").write_text(
        "# Held-out synthetic tasks (umer1 synth): MMEB image-task layout, local ranking.\n"
        + yaml.safe_dump({"tasks": registry}, sort_keys=False), encoding="utf-8")
    manifest = {"generator": GENERATOR_VERSION, "seed": seed, "image_size": image_size,
                "tasks": list(tasks), "reasoning_tasks": [t for t in tasks if t in REASONING],
                "candidates": candidates, "group": group,
                "counts": {"sft": len(sft_rows), "rl": len(rl_rows), "eval": counts},
                "chance_hit@1": chance,
                "files": {"sft": "train/sft.jsonl", "rl": "train/rl.jsonl", "tasks": "eval/tasks.yaml"}}
    write_json(root / "manifest.json", manifest)
    return manifest


def _make(task: str, n: int, stream: str, sampler: _Sampler) -> list[Item]:
    rng = random.Random(stream)
    return [make_item(task, rng, sampler) for _ in range(n)]
