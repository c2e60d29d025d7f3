"""Items of the perception task kinds built from scenes, each side with a reasoning trace and a
summary (the reasoning tasks are in `reasoning.py`, the registry of all in `registry.py`).

The reasoning lists the facts the summary needs, and the summaries of the two sides of a pair
agree, so a model that reasons correctly ends both sides on the same words.

- t2i: a caption naming every shape with its place -> the image.
- i2t: an image -> its caption.
- cls: an image with one large shape -> its class label ("red circle", 24 classes).
- vqa: an image + a question (relation, colour, counting) -> the answer word.
Held-out items get negatives (wrong candidates of the same kind) for local ranking; those of
t2i and i2t are the same shapes rearranged, so only the layout tells them apart.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Callable

from umer1.experiments.synthetic.scenes import COLOUR_NAMES, a, RELATIONS, SHAPES, Scene, number, plural

INSTRUCTIONS = {  # (query instruction, target instruction), as MMEB image tasks phrase them
    "t2i": ("Find me an image that matches the given caption:", "Represent the given image."),
    "i2t": ("Find a caption that describes the given image.", ""),
    "cls": ("Represent the given image for classification", ""),
    "vqa": ("Represent the given image with the following question:", ""),
}
CLASSES = tuple(f"{c} {k}" for c in COLOUR_NAMES for k in SHAPES)

SceneSampler = Callable[..., Scene]   # (rng, **sample_scene kwargs) -> a scene of this split


def join(instruction: str, text: str) -> str:
    """Instruction and input text as one user text (the evaluation reader joins them the same way)."""
    return " ".join(p for p in (instruction.strip(), text.strip()) if p)


@dataclass
class Side:
    instruction: str
    text: str = ""
    scene: Scene | None = None        # the image, None for a text-only side
    jitter: int = 0                   # rendering seed of the image
    reasoning: str = ""
    summary: str = ""
    facts: list[str] = field(default_factory=list)   # parts of the trace the answer needs

    @property
    def user_text(self) -> str:
        return join(self.instruction, self.text)


@dataclass
class Item:
    task: str
    query: Side
    target: Side
    negatives: list[Side] = field(default_factory=list)
    answer_kind: str = ""             # vqa: colour, shape or number (negatives share it)


# ----- what each side says ------------------------------------------------------------------
# An image side's trace reads the grid cell by cell in reading order, empty cells included
# ("1 red circle 2 none 3 ..."): the k-th entry is the k-th visual token, so writing the
# trace is a fixed walk over the image. Task-specific steps follow it. Tasks whose answer
# does not depend on places skip the walk (cls, and the content scans of `reasoning.py`). `facts`: the parts of the trace a task's answer depends on (what the fact-stating
# rate of generated traces checks).
def _sentence(text: str) -> str:
    return text[0].upper() + text[1:] + "."


def _trace(facts: list[str]) -> str:
    return "; ".join(facts)


def image_side(instruction: str, scene: Scene, rng: random.Random, summary: str,
               extra: list[str] = (), text: str = "", facts: list[str] | None = None,
               grid: bool = True) -> Side:
    """An image side; its trace is the grid walk (unless `grid` is False), then `extra`."""
    reasoning = _trace(([" ".join(scene.grid())] if grid else []) + list(extra))
    needed = list(facts) if facts is not None else [g for g in scene.grid() if not g.endswith("none")]
    return Side(instruction, text, scene, rng.randrange(1 << 30), reasoning, summary,
                needed + list(extra))


def caption(scene: Scene, rng: random.Random) -> tuple[str, list[str]]:
    """A caption naming every shape with its place (in a shuffled order), and its facts:
    the place pins the layout down, so a rearrangement of the same shapes does not fit it."""
    n = len(scene.shapes)
    order = list(scene.shapes)
    rng.shuffle(order)
    parts = [a(s.name) + f" at {s.place}" for s in order]
    facts = [f"{s.cell} {s.name}" for s in scene.shapes]
    return _sentence(f"{number(n)} {plural('shape', n)}: " + _and(parts)), facts


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def caption_side(instruction: str, scene: Scene, rng: random.Random) -> Side:
    text, facts = caption(scene, rng)
    n = len(scene.shapes)
    reasoning = _trace([f"{number(n)} {plural('shape', n)}"] + facts)
    return Side(instruction, text, None, 0, reasoning, scene.canonical(), facts)


# ----- the four tasks -----------------------------------------------------------------------
def make_t2i(rng: random.Random, sample: SceneSampler) -> Item:
    scene = sample(rng)
    qi, ti = INSTRUCTIONS["t2i"]
    return Item("t2i", caption_side(qi, scene, rng), image_side(ti, scene, rng, scene.canonical()))


def make_i2t(rng: random.Random, sample: SceneSampler) -> Item:
    scene = sample(rng)
    qi, ti = INSTRUCTIONS["i2t"]
    return Item("i2t", image_side(qi, scene, rng, scene.canonical()), caption_side(ti, scene, rng))


def label_side(instruction: str, label: str) -> Side:
    return Side(instruction, label, None, 0, f"label {label}", label, [f"label {label}"])


def make_cls(rng: random.Random, sample: SceneSampler) -> Item:
    scene = sample(rng, min_shapes=1, max_shapes=3, one_large=True)
    big = scene.largest()
    qi, ti = INSTRUCTIONS["cls"]
    # Perception only: the trace names what is seen, no walk over the cells.
    query = image_side(qi, scene, rng, big.name, [f"large {big.name}"], facts=[], grid=False)
    return Item("cls", query, label_side(ti, big.name))


ANSWER_KINDS = {"colour": COLOUR_NAMES, "shape": SHAPES, "number": tuple(number(i) for i in range(5))}


def answer_side(instruction: str, kind: str, answer: str) -> Side:
    return Side(instruction, answer, None, 0, f"{kind} {answer}", answer, [f"{kind} {answer}"])


def question(scene: Scene, rng: random.Random) -> tuple[str, str, str, list[str]]:
    """(question, answer kind, answer, the facts that answer it) for one scene."""
    unique = [(rel, a, scene.related(rel, a)[0]) for a in scene.shapes for rel in RELATIONS
              if len(scene.related(rel, a)) == 1]
    kinds_once = [k for k in SHAPES if scene.count(k) == 1]
    options = ["count_all", "count_kind"] + (["relation"] * 3 if unique else []) \
        + (["colour_of"] if kinds_once else [])
    pick = rng.choice(options)
    if pick == "relation":
        rel, anchor, x = rng.choice(unique)
        ask = rng.choice(("colour", "shape"))
        q = (f"What colour is the shape {rel} the {anchor.name}?" if ask == "colour"
             else f"What shape is {rel} the {anchor.name}?")
        answer = x.colour if ask == "colour" else x.kind
        facts = [f"{anchor.name} at {anchor.cell}", f"{rel} it {x.cell} {x.name}", f"{ask} {answer}"]
        return q, ask, answer, facts
    if pick == "colour_of":
        kind = rng.choice(kinds_once)
        s = next(s for s in scene.shapes if s.kind == kind)
        return (f"What colour is the {kind}?", "colour", s.colour,
                [f"{kind} {s.name}", f"colour {s.colour}"])
    if pick == "count_kind":
        kind = rng.choice(SHAPES)
        c = scene.count(kind)
        which = [s.name for s in scene.shapes if s.kind == kind]
        facts = ([f"{plural(kind, 2)} " + ", ".join(which)] if which
                 else [f"no {kind}"]) + [f"count {number(c)}"]
        return f"How many {plural(kind, 2)} are there?", "number", number(c), facts
    n = len(scene.shapes)
    return ("How many shapes are there?", "number", number(n),
            [f"count {number(n)}"])


def make_vqa(rng: random.Random, sample: SceneSampler) -> Item:
    scene = sample(rng, min_shapes=2, max_shapes=4)
    q, kind, answer, facts = question(scene, rng)
    qi, ti = INSTRUCTIONS["vqa"]
    return Item("vqa", image_side(qi, scene, rng, answer, facts, text=q, facts=[]),
                answer_side(ti, kind, answer), answer_kind=kind)


# ----- negatives for held-out local ranking -------------------------------------------------
def add_negatives(item: Item, rng: random.Random, count: int) -> Item:
    """Up to `count` wrong candidates of the target's kind; none can be a correct answer."""
    t = item.target
    if item.task in ("t2i", "i2t"):
        # Hard negatives: the same shapes in other cells, so only the layout decides
        # (one-shape scenes have 9 layouts: fewer negatives there).
        seen = {t.summary}
        scene0 = t.scene or item.query.scene
        tries = 0
        while len(item.negatives) < count and tries < 50 * count:
            tries += 1
            scene = scene0.rearranged(rng)
            if scene.canonical() in seen:
                continue
            seen.add(scene.canonical())
            item.negatives.append(image_side(t.instruction, scene, rng, scene.canonical())
                                  if item.task == "t2i" else caption_side(t.instruction, scene, rng))
    elif item.task == "cls":
        others = [c for c in CLASSES if c != t.summary]
        item.negatives = [label_side(t.instruction, c) for c in rng.sample(others, min(count, len(others)))]
    else:
        kind = item.answer_kind
        others = [a for a in ANSWER_KINDS[kind] if a != t.summary]
        item.negatives = [answer_side(t.instruction, kind, a)
                          for a in rng.sample(others, min(count, len(others)))]
    return item
