import random
import re

from umer1.experiments.synthetic.scenes import COLOUR_NAMES, SHAPES, number, sample_scene
from umer1.experiments.synthetic.tasks import TASKS, add_negatives, make_item


def sampler(rng, **kw):
    return sample_scene(rng, **kw)


def items(task, n=60, seed=0, negatives=7):
    rng = random.Random(seed)
    return [add_negatives(make_item(task, rng, sampler), rng, sampler, negatives) for _ in range(n)]


def test_both_sides_agree_and_negatives_are_wrong():
    for task in TASKS:
        for it in items(task):
            assert it.target.summary and it.query.summary
            if task in ("t2i", "i2t", "cls"):
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
                assert s.colour in caption and s.kind in caption
                assert s.full_name in (it.target if task == "t2i" else it.query).reasoning
            assert caption.startswith(number(len(scene.shapes)).capitalize())


def test_classification_label_is_the_large_shape():
    for it in items("cls"):
        (large,) = [s for s in it.query.scene.shapes if s.size == "large"]
        assert it.target.text == large.name
        colour, kind = it.target.text.split()
        assert colour in COLOUR_NAMES and kind in SHAPES
