"""Scenes of coloured shapes on a 3x3 grid: sampled from a seeded RNG, rendered with PIL.

A scene is pure data (which shape, which colour, which size, which cell), so every fact about
it (attributes, left/right/above/below, counts, "the shape left of the red circle") is computed
exactly, and its rendering is a function of the scene alone: same scene, same pixels.
One grid cell is 28 px, the size of one merged Qwen2-VL visual token, so each cell is one
token for the model.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from PIL import Image, ImageDraw

SHAPES = ("circle", "square", "triangle", "diamond")
COLOURS = {"red": (220, 40, 40), "green": (30, 160, 60), "blue": (40, 80, 230),
           "yellow": (240, 200, 20), "purple": (140, 50, 180), "orange": (250, 130, 20)}
COLOUR_NAMES = tuple(COLOURS)
SIZES = ("small", "large")
GRID = 3
CELL = 28
ROW_NAMES = ("top", "middle", "bottom")
COL_NAMES = ("left", "middle", "right")
NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
BACKGROUND = (255, 255, 255)
_PIXELS = {"large": 22, "small": 12}


@dataclass(frozen=True, order=True)
class Shape:
    row: int
    col: int
    colour: str
    kind: str
    size: str = "large"

    @property
    def name(self) -> str:
        """How text refers to it: "red circle" (colour + kind are unique within a scene)."""
        return f"{self.colour} {self.kind}"

    @property
    def full_name(self) -> str:
        return f"{self.size} {self.colour} {self.kind}"

    @property
    def cell(self) -> int:
        """Its cell number, 1-9 in reading order (the order of the visual tokens)."""
        return self.row * GRID + self.col + 1

    @property
    def place(self) -> str:
        if (self.row, self.col) == (1, 1):
            return "the centre"
        if self.row == 1:
            return f"the middle {COL_NAMES[self.col]}"
        if self.col == 1:
            return f"the {ROW_NAMES[self.row]} middle"
        return f"the {ROW_NAMES[self.row]} {COL_NAMES[self.col]}"


# ----- relations: r(a, b) reads "a is <r> b" -------------------------------------------------
RELATIONS = ("left of", "right of", "above", "below")


def holds(relation: str, a: Shape, b: Shape) -> bool:
    return {"left of": a.col < b.col, "right of": a.col > b.col,
            "above": a.row < b.row, "below": a.row > b.row}[relation]


def number(n: int) -> str:
    return NUMBERS[n] if 0 <= n < len(NUMBERS) else str(n)


def a(name: str) -> str:
    """The name with its indefinite article: "a red circle", "an orange square"."""
    return ("an " if name[0] in "aeiou" else "a ") + name


def plural(kind: str, n: int) -> str:
    return kind if n == 1 else kind + "s"


@dataclass(frozen=True)
class Scene:
    shapes: tuple[Shape, ...]           # in reading order (row, then column)

    @property
    def signature(self) -> tuple:
        """What identifies a scene across splits (rendering adds nothing to it)."""
        return tuple(self.shapes)

    def find(self, colour: str, kind: str) -> Shape | None:
        return next((s for s in self.shapes if s.colour == colour and s.kind == kind), None)

    def related(self, relation: str, anchor: Shape) -> list[Shape]:
        """Every shape x with `x <relation> anchor`."""
        return [s for s in self.shapes if s is not anchor and holds(relation, s, anchor)]

    def count(self, kind: str | None = None) -> int:
        return sum(1 for s in self.shapes if kind is None or s.kind == kind)

    def largest(self) -> Shape:
        return next((s for s in self.shapes if s.size == "large"), self.shapes[0])

    def at(self, cell: int) -> Shape | None:
        return next((s for s in self.shapes if s.cell == cell), None)

    def grid(self) -> list[str]:
        """Every cell in reading order, empty ones included: "1 red circle", "2 none", ...
        One entry per visual token, so writing the k-th entry is reading the k-th token."""
        cells = []
        for c in range(1, GRID * GRID + 1):
            s = self.at(c)
            cells.append(f"{c} {s.name}" if s else f"{c} none")
        return cells

    def canonical(self) -> str:
        """The summary both sides of a pair agree on: the count and every shape with its cell,
        in reading order (so two arrangements of the same shapes differ)."""
        n = len(self.shapes)
        return f"{number(n)} {plural('shape', n)}: " + ", ".join(f"{s.cell} {s.name}" for s in self.shapes)

    def rearranged(self, rng: random.Random) -> "Scene":
        """The same shapes in other cells (a hard negative: only the layout tells it apart)."""
        for _ in range(100):
            cells = rng.sample([(r, c) for r in range(GRID) for c in range(GRID)], len(self.shapes))
            other = Scene(tuple(sorted(Shape(r, c, s.colour, s.kind, s.size)
                                       for (r, c), s in zip(cells, self.shapes))))
            if other.signature != self.signature:
                return other
        raise ValueError("a one-shape scene in a one-cell grid cannot be rearranged")  # pragma: no cover

    def render(self, size: int = GRID * CELL, jitter_seed: int = 0) -> Image.Image:
        """The scene as an RGB image; `jitter_seed` moves shapes a few pixels inside their cells."""
        scale = size / (GRID * CELL)
        rng = random.Random(f"jitter:{jitter_seed}")
        im = Image.new("RGB", (size, size), BACKGROUND)
        draw = ImageDraw.Draw(im)
        for s in self.shapes:
            px = _PIXELS[s.size]
            slack = (CELL - px) // 2 - 1
            cx = s.col * CELL + CELL / 2 + rng.randint(-slack, slack)
            cy = s.row * CELL + CELL / 2 + rng.randint(-slack, slack)
            _draw(draw, s.kind, cx * scale, cy * scale, px * scale / 2, COLOURS[s.colour])
        return im


def _draw(draw: ImageDraw.ImageDraw, kind: str, cx: float, cy: float, r: float, fill) -> None:
    if kind == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    elif kind == "square":
        draw.rectangle((cx - r, cy - r, cx + r, cy + r), fill=fill)
    elif kind == "triangle":
        draw.polygon([(cx, cy - r), (cx + r, cy + r), (cx - r, cy + r)], fill=fill)
    elif kind == "diamond":
        draw.polygon([(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)], fill=fill)
    else:  # pragma: no cover - SHAPES is closed
        raise ValueError(kind)


def sample_scene(rng: random.Random, min_shapes: int = 1, max_shapes: int = 4,
                 one_large: bool = False, colours: tuple[str, ...] = COLOUR_NAMES,
                 sizes: tuple[str, ...] = SIZES) -> Scene:
    """A random scene: distinct cells, distinct (colour, kind) pairs so names are unambiguous.

    `one_large`: exactly one large shape (the classification target), the others small.
    `colours`: the palette (a small one makes several shapes share a colour, for counting);
    `sizes`: the sizes to draw from.
    """
    n = rng.randint(min_shapes, max_shapes)
    cells = rng.sample([(r, c) for r in range(GRID) for c in range(GRID)], n)
    looks = rng.sample([(c, k) for c in colours for k in SHAPES], n)
    drawn = (["large"] + ["small"] * (n - 1)) if one_large else [rng.choice(sizes) for _ in range(n)]
    shapes = [Shape(r, c, colour, kind, size)
              for (r, c), (colour, kind), size in zip(cells, looks, drawn)]
    return Scene(tuple(sorted(shapes)))
