import random
import re

from umer1.experiments.synthetic.reasoning import MOVES
from umer1.experiments.synthetic.registry import REASONING, TASKS, make_item
from umer1.experiments.synthetic.scenes import COLOUR_NAMES, SHAPES, number, sample_scene
from umer1.experiments.synthetic.tasks import add_negatives


def sampler(rng, **kw):
    return sample_scene(rng, **kw)


def items(task, n=60, seed=0, negatives=7):
    rng = random.Random(seed)
    return [add_negatives(make_item(task, rng, sampler), rng, negatives) for _ in range(n)]


def test_both_sides_agree_and_negatives_are_wrong():
    for task in TASKS:
        for it in items(task):
            assert it.target.summary and it.query.summary
            assert it.query.summary == it.target.summary
            wrong = [n.summary for n in it.negatives]
            assert it.target.summary not in wrong and len(set(wrong)) == len(wrong)


def test_vqa_answers_are_true_of_the_scene():
    checked = set()
    for it in items("vqa", n=200):
        scene, q, answer = it.query.scene, it.query.text, it.target.summary
        assert it.query.summary == answer
        if q == "How many shapes are there?":
            assert answer == number(len(scene.shapes))
            checked.add("count_all")
        elif m := re.fullmatch(r"How many (\w+)s are there\?", q):
            assert answer == number(scene.count(m.group(1)))
            checked.add("count_kind")
        elif m := re.fullmatch(r"What (colour|shape) is (?:the shape )?(left of|right of|above|below) "
                               r"the (\w+) (\w+)\?", q):
            ask, rel, colour, kind = m.groups()
            hits = scene.related(rel, scene.find(colour, kind))
            assert len(hits) == 1
            assert answer == (hits[0].colour if ask == "colour" else hits[0].kind)
            checked.add("relation")
        else:
            m = re.fullmatch(r"What colour is the (\w+)\?", q)
            (only,) = [s for s in scene.shapes if s.kind == m.group(1)]
            assert answer == only.colour
            checked.add("colour_of")
        assert answer in it.query.reasoning     # the reasoning ends on the answer
    assert checked == {"count_all", "count_kind", "relation", "colour_of"}


def test_captions_and_reasoning_name_every_shape():
    for task in ("t2i", "i2t"):
        for it in items(task):
            scene = it.query.scene or it.target.scene
            caption = it.query.text if task == "t2i" else it.target.text
            for s in scene.shapes:
                assert s.colour in caption and s.kind in caption and s.place in caption
                assert f"{s.cell} {s.name}" in (it.target if task == "t2i" else it.query).reasoning
            assert caption.startswith(number(len(scene.shapes)).capitalize())


def test_classification_label_is_the_large_shape():
    for it in items("cls"):
        (large,) = [s for s in it.query.scene.shapes if s.size == "large"]
        assert it.target.text == large.name
        colour, kind = it.target.text.split()
        assert colour in COLOUR_NAMES and kind in SHAPES


def test_image_traces_read_every_cell_in_reading_order():
    for it in items("i2t", n=20) + items("hop", n=20):
        grid = it.query.reasoning.split("; ")[0].split()
        cells = [int(w) for w in grid if w.isdigit()]
        assert cells == list(range(1, 10))                  # empty cells included
        for s in it.query.scene.shapes:
            assert f"{s.cell} {s.name}" in it.query.reasoning


def test_t2i_i2t_negatives_are_the_same_shapes_rearranged():
    for task in ("t2i", "i2t"):
        for it in items(task, n=30):
            scene = it.query.scene or it.target.scene
            looks = sorted((s.colour, s.kind) for s in scene.shapes)
            for neg in it.negatives:
                other = neg.scene if task == "t2i" else None
                if other is not None:
                    assert sorted((s.colour, s.kind) for s in other.shapes) == looks
                    assert other.signature != scene.signature
                assert neg.summary != it.target.summary


def test_reasoning_answers_follow_from_the_scene():
    for it in items("count", n=100):
        colour = re.fullmatch(r"How many (\w+) shapes are there\?", it.query.text).group(1)
        n = sum(s.colour == colour for s in it.query.scene.shapes)
        assert it.target.summary == number(n) == it.query.summary
        assert it.query.reasoning.endswith(f"count {number(n)}")
        assert it.query.reasoning.count(" yes ") == n          # one tally step per shape found
    for it in items("match", n=100):
        kind = re.fullmatch(r"What shape has the same colour as the (\w+)\?", it.query.text).group(1)
        (anchor,) = [s for s in it.query.scene.shapes if s.kind == kind]
        (partner,) = [s for s in it.query.scene.shapes if s.colour == anchor.colour and s is not anchor]
        assert it.target.summary == partner.kind and it.query.reasoning.startswith(f"{kind} {anchor.colour};")
        assert partner.kind not in [n.summary for n in it.negatives]
    for it in items("hop", n=100):
        m = re.fullmatch(r"Start at the (\w+) (\w+), go (\w+), then (\w+): what colour is the shape there\?",
                         it.query.text)
        colour, kind, m1, m2 = m.groups()
        anchor = it.query.scene.find(colour, kind)
        r = anchor.row + MOVES[m1][0] + MOVES[m2][0]
        c = anchor.col + MOVES[m1][1] + MOVES[m2][1]
        end = it.query.scene.at(r * 3 + c + 1)
        assert end is not None and end is not anchor and it.target.summary == end.colour
        assert set(it.query.facts) <= set(it.query.reasoning.split("; ")) | {f"{anchor.cell} {anchor.name}"}
    assert set(REASONING) <= set(TASKS)
