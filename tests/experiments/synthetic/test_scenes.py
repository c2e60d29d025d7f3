import random

from umer1.experiments.synthetic.scenes import SHAPES, Scene, Shape, holds, sample_scene


def test_scene_names_are_unique_and_cells_distinct():
    rng = random.Random(0)
    for _ in range(200):
        s = sample_scene(rng, 1, 4)
        assert len({(x.row, x.col) for x in s.shapes}) == len(s.shapes)
        assert len({x.name for x in s.shapes}) == len(s.shapes)
        assert list(s.shapes) == sorted(s.shapes)      # reading order


def test_relations_and_counts():
    red = Shape(0, 0, "red", "circle")
    blue = Shape(2, 1, "blue", "square")
    green = Shape(0, 2, "green", "circle")
    scene = Scene((red, green, blue))
    assert holds("left of", red, blue) and holds("above", red, blue)
    assert holds("right of", green, blue) and not holds("below", green, blue)
    assert scene.related("left of", green) == [red, blue]
    assert scene.count("circle") == 2 and scene.count() == 3
    assert scene.canonical() == "three shapes: 1 red circle, 3 green circle, 8 blue square"
    assert scene.grid() == ["1 red circle", "2 none", "3 green circle", "4 none", "5 none", "6 none",
                            "7 none", "8 blue square", "9 none"]


def test_rendering_is_deterministic_and_draws_the_colours():
    scene = Scene((Shape(1, 1, "red", "square", "large"),))
    a, b = scene.render(84, 5), scene.render(84, 5)
    assert a.tobytes() == b.tobytes()
    assert a.size == (84, 84)
    assert a.getpixel((42, 42)) == (220, 40, 40)       # the square covers the centre
    assert a.getpixel((2, 2)) == (255, 255, 255)


def test_every_shape_kind_renders():
    for kind in SHAPES:
        im = Scene((Shape(0, 0, "blue", kind, "large"),)).render(84)
        assert (40, 80, 230) in {c for _, c in im.getcolors(10_000)}
