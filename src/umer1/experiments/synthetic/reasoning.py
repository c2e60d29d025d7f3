"""Tasks a single pass cannot read off the image but a written trace makes easy.

- count: "How many red shapes are there?" The trace checks each kind of the asked colour in a
  fixed order and keeps a running tally ("red circle yes one; red square no; red triangle yes
  two; ..."): each step asks whether one named shape is in the image (a look-up by content),
  and the answer is the last tally word. In one pass the model must count inside one state.
- match: "What shape has the same colour as the triangle?" The trace reads the triangle's
  colour, then checks the other kinds in that colour ("triangle red; red circle no; red square
  yes; ..."): two dependent look-ups, written one after the other. One pass must chain them.
- hop: "Start at the red circle, go right, then down: what colour is the shape there?"
  The trace walks the grid, finds the anchor's cell, moves one cell per step ("right 5;
  down 8") and reads back the entry it wrote for that cell. This one needs places, which a
  small model learns to write far more slowly than what it sees (docs/demo.md).
The candidates are answer words (numbers, kinds, colours), as in the VQA task, so disc and
gen rank the same few candidates and differ only in how the query embedding is formed.
"""
from __future__ import annotations

import random

from umer1.experiments.synthetic.scenes import GRID, SHAPES, Scene, number
from umer1.experiments.synthetic.tasks import INSTRUCTIONS, Item, SceneSampler, answer_side, image_side

PALETTE = ("red", "green", "blue", "yellow")   # 4 colours x 4 kinds: colours repeat in a scene
# Large shapes only: the point is combining what is seen, not seeing 12-pixel shapes.
SEEN = dict(min_shapes=3, max_shapes=6, colours=PALETTE, sizes=("large",))
MOVES = {"left": (0, -1), "right": (0, 1), "up": (-1, 0), "down": (1, 0)}


def make_count(rng: random.Random, sample: SceneSampler) -> Item:
    # The answer is drawn first (0-3, uniform) and scenes are drawn until they fit it, so
    # always giving the commonest answer scores 25%, not the 40-50% of unbalanced counts.
    want, colour = rng.randrange(4), rng.choice(PALETTE)
    scene = sample(rng, **SEEN)
    while sum(s.colour == colour for s in scene.shapes) != want:
        scene = sample(rng, **SEEN)
    steps, tally = [], 0
    for kind in SHAPES:
        if scene.find(colour, kind):
            tally += 1
            steps.append(f"{colour} {kind} yes {number(tally)}")
        else:
            steps.append(f"{colour} {kind} no")
    answer = number(tally)
    qi, ti = INSTRUCTIONS["vqa"]
    query = image_side(qi, scene, rng, answer, steps + [f"count {answer}"], facts=[], grid=False,
                       text=f"How many {colour} shapes are there?")
    return Item("count", query, answer_side(ti, "number", answer), answer_kind="number")


def match_question(scene: Scene, rng: random.Random):
    """(anchor, partner): the only shape of its kind, and the only other shape of its colour."""
    options = []
    for anchor in scene.shapes:
        if scene.count(anchor.kind) != 1:
            continue
        same = [s for s in scene.shapes if s.colour == anchor.colour and s is not anchor]
        if len(same) == 1:
            options.append((anchor, same[0]))
    return rng.choice(options) if options else None


def make_match(rng: random.Random, sample: SceneSampler) -> Item:
    while (picked := match_question(scene := sample(rng, **SEEN), rng)) is None:
        pass
    anchor, partner = picked
    steps = [f"{anchor.kind} {anchor.colour}"]
    steps += [f"{anchor.colour} {k} {'yes' if k == partner.kind else 'no'}" for k in SHAPES if k != anchor.kind]
    qi, ti = INSTRUCTIONS["vqa"]
    query = image_side(qi, scene, rng, partner.kind, steps + [f"shape {partner.kind}"], facts=[],
                       grid=False, text=f"What shape has the same colour as the {anchor.kind}?")
    return Item("match", query, answer_side(ti, "shape", partner.kind), answer_kind="shape")


def _walk(cell: int, moves: list[str]) -> list[int] | None:
    """The cells visited from `cell` (1-9), or None if a move leaves the grid."""
    r, c = divmod(cell - 1, GRID)
    path = []
    for m in moves:
        r, c = r + MOVES[m][0], c + MOVES[m][1]
        if not (0 <= r < GRID and 0 <= c < GRID):
            return None
        path.append(r * GRID + c + 1)
    return path


def hop_question(scene: Scene, rng: random.Random):
    """(anchor, moves, visited cells, end shape) with an occupied end cell other than the
    anchor's, or None when this scene has no such walk."""
    options = []
    for anchor in scene.shapes:
        for m1 in MOVES:
            for m2 in MOVES:
                path = _walk(anchor.cell, [m1, m2])
                if path and path[-1] != anchor.cell and scene.at(path[-1]) is not None:
                    options.append((anchor, [m1, m2], path, scene.at(path[-1])))
    return rng.choice(options) if options else None


def make_hop(rng: random.Random, sample: SceneSampler) -> Item:
    while True:
        scene = sample(rng, min_shapes=4, max_shapes=6)
        picked = hop_question(scene, rng)
        if picked is not None:
            break
    anchor, moves, path, end = picked
    steps = [f"{anchor.name} at {anchor.cell}"] + [f"{m} {c}" for m, c in zip(moves, path)]
    steps.append(f"{end.cell} {end.name}")
    qi, ti = INSTRUCTIONS["vqa"]
    q = f"Start at the {anchor.name}, go {moves[0]}, then {moves[1]}: what colour is the shape there?"
    query = image_side(qi, scene, rng, end.colour, steps, text=q,
                       facts=[f"{anchor.cell} {anchor.name}"])
    return Item("hop", query, answer_side(ti, "colour", end.colour), answer_kind="colour")

