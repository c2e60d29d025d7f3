"""The catalog, the generated registries, presence checks, the CLI, and prepare -> eval end to end."""
import json
from collections import Counter
from pathlib import Path

import pytest

from umer1.cli import main
from umer1.eval.suite import EvalOptions, evaluate
from umer1.eval import load_registry, load_task, resolve_tasks, select
from umer1.mmeb import (TASKS, PrepareOptions, benchmark, fetch_command, missing_sources, prepare,
                        registry_name, registry_text)

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "mmeb_v2"


@pytest.mark.parametrize("ood", ["original", "page-fixed"])
def test_benchmark_has_78_tasks_per_split(ood):
    tasks = benchmark(ood)
    assert Counter(t.modality for t in tasks) == {"image": 36, "video": 18, "visdoc": 24}
    assert Counter(t.meta_task for t in tasks if t.modality == "visdoc") == {
        "vidore_v1": 10, "vidore_v2": 4, "visrag": 6, "ood": 4}
    names = {t.name for t in tasks}
    assert ({"ViDoSeek-page-fixed", "MMLongBench-page-fixed"} <= names) == (ood == "page-fixed")
    ranking = {t.name: t.ranking for t in tasks}
    assert ranking["SmthSmthV2"] == "local" and ranking["K700"] == "global" and ranking["MVBench"] == "local"
    assert all(t.ranking == "global" for t in tasks if t.modality == "visdoc")
    assert all(t.ranking == "local" for t in tasks if t.modality == "image")


@pytest.mark.parametrize("instruction_set,ood", [("ume-r1", "original"), ("vlm2vec-current", "page-fixed")])
def test_committed_registries_are_the_generated_ones(instruction_set, ood):
    path = CONFIGS / registry_name(instruction_set, ood)
    assert path.read_text() == registry_text(instruction_set, ood, {}), "regenerate: docs/reproduce-mmeb-v2.md, section Registries"
    specs = load_registry(path)
    assert len(specs) == 78 and all(s.layout == "retrieval" for s in specs)
    assert all(s.data == f"prepared/{instruction_set}/{s.name}" for s in specs)
    assert all(f"instructions {instruction_set}" in s.revision for s in specs)


def test_missing_sources_name_what_and_how(tmp_path):
    gaps = missing_sources("MSR-VTT", tmp_path)
    assert any("VLM2Vec/MSR-VTT" in g for g in gaps) and any("video_ret/MSR-VTT" in g for g in gaps)
    assert fetch_command("MSR-VTT", tmp_path) == f"umer1 data prepare --root {tmp_path} --download --only MSR-VTT"
    assert all("media" not in g for g in missing_sources(TASKS["ViDoRe_docvqa"], tmp_path))


def test_present_sources_have_no_gaps(source_root):
    for name in ("ImageNet-1K", "ViDoRe_docvqa", "VisRAG_ArxivQA", "Video-MME", "QVHighlight"):
        assert missing_sources(name, source_root) == []


def test_cli_prepares_and_reports_missing_tasks(source_root, capsys):
    rc = main(["data", "prepare", "--root", str(source_root), "--only", "Breakfast", "K700"])
    out = capsys.readouterr().out
    assert rc == 1 and "ok      Breakfast" in out and "MISSING K700" in out and "--download --only K700" in out
    assert (source_root / "mmeb_v2_ume-r1_original.yaml").is_file()
    assert main(["data", "prepare", "--root", str(source_root), "--only", "Nope"]) == 2


def test_prepared_tasks_load_and_score_with_a_real_tiny_model(source_root, tiny_model, tmp_path):
    names = ["ImageNet-1K", "RefCOCO-Matching", "ViDoRe_docvqa", "MSR-VTT", "Video-MME", "QVHighlight"]
    result = prepare(PrepareOptions(root=source_root, only=names))
    specs, root = resolve_tasks(result.registry)
    specs = select(specs, names)
    assert root == source_root
    doc = load_task(specs[2], root)
    assert doc.graded is False and doc.pools is None and len(doc.candidates) == 4
    assert load_task(specs[4], root).pools == [[0, 1, 2, 3]]
    summary = evaluate(tiny_model, specs, root, tmp_path / "out", EvalOptions(show_progress=False))
    assert summary["modes"]["disc"]["num_tasks"]["overall"] == len(names)
    rec = json.loads((tmp_path / "out/disc/ViDoRe_docvqa_score.json").read_text())
    assert rec["num_pred"] == 2 and rec["main_metric"] == "ndcg_linear@5"
    assert rec["data_revision"] == "vidore/docvqa_test_subsampled_beir@unknown; split test; instructions ume-r1"
    mr = json.loads((tmp_path / "out/disc/QVHighlight_score.json").read_text())
    assert mr["ranking"] == "local" and 0 <= mr["hit@1"] <= 1


def test_data_check_names_the_missing_sources_and_the_command(source_root, capsys):
    prepare(PrepareOptions(root=source_root, only=["Breakfast"]))
    registry = source_root / registry_name("ume-r1", "original")
    rc = main(["data", "check", "--tasks", str(registry), "--data-root", str(source_root),
               "--only", "Breakfast", "K700"])
    out = capsys.readouterr().out
    assert rc == 1
    line = next(x for x in out.splitlines() if "K700" in x)
    assert line.startswith("MISSING") and "video_cls" in line
    assert f"run: umer1 data prepare --root {source_root} --download --only K700" in line
    assert next(x for x in out.splitlines() if "Breakfast" in x).startswith("ok")
