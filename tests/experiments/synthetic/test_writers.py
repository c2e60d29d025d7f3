import hashlib
import json
from pathlib import Path

import pytest

from umer1.data.rl import read_rl_pairs
from umer1.data.sft import read_sft
from umer1.utils.errors import InputError
from umer1.eval import check_presence, load_registry, load_task
from umer1.experiments.synthetic import generate_dataset



def tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_data(tmp_path, small_dataset, small_sizes):
    again = generate_dataset(tmp_path / "again", seed=3, **small_sizes)
    assert tree(again.root) == tree(small_dataset.root)
    other = generate_dataset(tmp_path / "other", seed=4, **small_sizes)
    assert other.sft.read_bytes() != small_dataset.sft.read_bytes()
    assert other.rl.read_bytes() != small_dataset.rl.read_bytes()
    a, b = tree(other.root), tree(small_dataset.root)
    assert sum(a[k] != b[k] for k in a.keys() & b.keys()) > 0.9 * len(a.keys() & b.keys())


def test_sft_records_parse_with_the_sft_reader(small_dataset, small_sizes):
    pairs = read_sft(small_dataset.sft)          # checks every image file
    assert len(pairs) == small_sizes["train"]
    assert {p.dataset for p in pairs} == {"shapes_t2i", "shapes_i2t", "shapes_cls", "shapes_vqa"}
    for p in pairs:
        for side in (p.query, p.target):
            assert side.released and side.answer.startswith("<think>")
            assert side.answer.endswith("\n<gen_emb>")
            assert "</answer>" not in side.answer      # as the released data writes it
            assert side.text.count("<image>") == len(side.images) <= 1
    # runs of one dataset (8 rows) so in-batch negatives are same-task
    names = [p.dataset for p in pairs]
    assert all(len(set(names[i:i + 8])) == 1 for i in range(0, len(names), 8))


def test_sft_records_collate_for_the_model(small_dataset, tiny_model):
    from umer1.train.sft.collate import SFTCollator
    pairs = read_sft(small_dataset.sft)[:8]
    ids = tiny_model.ids
    batch = SFTCollator(tiny_model.processor, tiny_model.settings, gen_id=ids.gen,
                        disc_id=ids.disc)(pairs)
    assert batch.dropped == 0 and len(batch) == 8
    assert bool((batch.side.gen_pos > batch.side.disc_pos).all())


def test_rl_pairs_parse_with_the_rl_reader(small_dataset, small_sizes):
    pairs = read_rl_pairs(small_dataset.rl)
    assert len(pairs) == small_sizes["rl"]
    assert any(p.query.images for p in pairs) and any(not p.query.images for p in pairs)
    for p in pairs:
        assert "<image>" not in p.query.text and p.target.text.strip() or p.target.images


def test_eval_split_loads_with_the_eval_harness(small_dataset, small_sizes):
    specs = load_registry(small_dataset.tasks)
    assert [s.name for s in specs] == ["shapes_t2i", "shapes_i2t", "shapes_cls", "shapes_vqa"]
    manifest = json.loads(small_dataset.manifest.read_text())
    for spec in specs:
        assert check_presence(spec, small_dataset.tasks.parent, deep=True) == []
        data = load_task(spec, small_dataset.tasks.parent)
        assert len(data.queries) == small_sizes["eval"]
        assert all(lab == {pool[0]: 1.0} for lab, pool in zip(data.labels, data.pools))
        chance = sum(1 / len(p) for p in data.pools) / len(data.pools)
        assert chance == pytest.approx(manifest["chance_hit@1"][spec.name])
        if spec.name != "shapes_vqa":
            assert all(len(p) == small_sizes["candidates"] for p in data.pools)


def test_held_out_scenes_never_appear_in_training(small_dataset, small_sizes):
    def shapes(path):
        return {json.dumps(r["shapes"]) for r in map(json.loads, path.read_text().splitlines())}
    train = shapes(small_dataset.root / "train" / "scenes.jsonl")
    held_out = shapes(small_dataset.root / "eval" / "scenes.jsonl")
    assert train and held_out and not train & held_out


def test_refuses_a_non_empty_folder_and_leaves_no_partial_output(tmp_path):
    out = tmp_path / "data"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty"):
        generate_dataset(out, train=4, rl=0, eval=1)
    assert [p.name for p in tmp_path.iterdir()] == ["data"]
    with pytest.raises(InputError, match="unknown task"):
        generate_dataset(tmp_path / "x", tasks=("t2i", "nope"))
    assert not (tmp_path / "x").exists()
    generate_dataset(out, train=4, rl=0, eval=1, overwrite=True)
    assert not (out / "keep.txt").exists() and (out / "manifest.json").is_file()


def test_gold_traces_align_with_the_eval_rows(tmp_path):
    paths = generate_dataset(tmp_path / "d", seed=1, train=8, rl=0, eval=3, candidates=4,
                             tasks=("count", "hop", "i2t"))
    for task in ("count", "hop", "i2t"):
        folder = paths.tasks.parent / f"shapes_{task}"
        rows = [json.loads(x) for x in (folder / "test.jsonl").read_text().splitlines()]
        gold = [json.loads(x) for x in (folder / "gold.jsonl").read_text().splitlines()]
        assert len(rows) == len(gold) == 3
        for row, g in zip(rows, gold):
            assert len(g["candidates"]) == len(row["tgt_text"])
            assert g["query"]["summary"] == g["candidates"][0]["summary"]
            assert g["query"]["answer"].endswith(g["query"]["summary"] + "\n<gen_emb>")
            assert all(f in g["query"]["answer"] for f in g["query"]["facts"])
    # our own SFT data is rendered like the evaluation prompt: no newline after <image>
    first = json.loads(paths.sft.read_text().splitlines()[0])
    human = first["qry"]["conversations"][0]["value"]
    assert not human.startswith("<image>\n")
