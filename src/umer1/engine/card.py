"""The model card (`README.md`) written into every saved model folder.

A card has the YAML block a model hub reads (library, pipeline tag, tags, base model, and a
`model-index` of scores when an evaluation is attached) and a body a person reads: where the
model came from, the settings it embeds with, its scores, how to load it, the configuration.

Where the facts live: the settings, config and tokenizer are read from the folder itself
(`umer1.json`, `config.yaml`, `tokenizer_config.json`, `config.json`); the provenance a folder
cannot show (stage, base model, step, data files and their SHA-256) is given by the writer and
kept in the card's own metadata under `umer1:` with the scores of an attached evaluation, so
`umer1 card` can rewrite a card later (adding or replacing an evaluation) without losing either. The metadata is built with huggingface_hub's `ModelCardData`
and `EvalResult` (huggingface_hub/repocard_data.py), the classes a hub's own tools parse.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import yaml

from umer1.engine.prompts import DISC_TOKEN, GEN_TOKEN
from umer1.engine.settings import SETTINGS_FILE, EmbeddingSettings
from umer1.utils.config import RESOLVED_NAME as CONFIG_FILE
from umer1.utils.errors import InputError
from umer1.utils.files import atomic_path

CARD_FILE = "README.md"
# `owner/name`: what a hub resolves as `base_model`; a local path stays in the body only.
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass
class Provenance:
    """What a model folder cannot tell about itself."""
    stage: str = "unknown"                  # "sft" | "rl" | "tiny-model" | "unknown"
    base_model: str | None = None           # directory or hub id it was trained from
    step: int | None = None                 # optimisation steps done
    total_steps: int | None = None
    data: dict[str, str] = field(default_factory=dict)   # training file -> SHA-256
    options: dict = field(default_factory=dict)          # how a model without a config was made
    evaluation: dict = field(default_factory=dict)       # `read_evaluation` of the attached eval

    @classmethod
    def from_dict(cls, data: dict | None) -> "Provenance":
        data = data or {}
        names = ("stage", "base_model", "step", "total_steps", "data", "options", "evaluation")
        known = {k: data[k] for k in names if k in data}
        return cls(**known)


def _umer1_version() -> str:
    try:
        return version("umer1")
    except PackageNotFoundError:   # a source tree on PYTHONPATH, not installed
        return "unknown"


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def embedding_token_ids(model_dir: Path) -> dict[str, int]:
    """`<disc_emb>` / `<gen_emb>` ids from the saved tokenizer files (no tokenizer load)."""
    found: dict[str, int] = {}
    decoder = _read_json(model_dir / "tokenizer_config.json").get("added_tokens_decoder", {})
    for idx, tok in decoder.items():
        found[tok.get("content")] = int(idx)
    for tok in _read_json(model_dir / "tokenizer.json").get("added_tokens", []):
        found.setdefault(tok.get("content"), int(tok.get("id")))
    return {t: found[t] for t in (DISC_TOKEN, GEN_TOKEN) if t in found}


def _model_facts(model_dir: Path) -> dict:
    cfg = _read_json(model_dir / "config.json")
    adapter = _read_json(model_dir / "adapter_config.json")
    text = cfg.get("text_config") or {}
    return {"architecture": (cfg.get("architectures") or ["?"])[0] if cfg else None,
            "model_type": cfg.get("model_type"),
            "hidden_size": text.get("hidden_size") or cfg.get("hidden_size"),
            "adapter_of": adapter.get("base_model_name_or_path") if adapter else None,
            "peft": bool(adapter)}


def read_evaluation(eval_dir: Path) -> dict:
    """The scores of an `umer1 eval` output folder, as the card records them:
    {"dataset": name, "modes": {mode: {"overall", "modality", "num_tasks"}}}."""
    summary = _read_json(eval_dir / "summary.json")
    if not summary.get("modes"):
        raise InputError("not an `umer1 eval` output folder (no summary.json with scores)",
                         file=str(eval_dir / "summary.json"), field="--eval")
    run = _read_json(eval_dir / "run_config.json")
    tasks = run.get("tasks", [])
    suite = ", ".join(Path(r).name for r in run.get("registry", [])) or "umer1 eval tasks"
    modes = {mode: {k: agg.get(k) for k in ("overall", "modality", "num_tasks")}
             for mode, agg in summary["modes"].items() if agg.get("overall") is not None}
    return {"dataset": f"{suite} ({len(tasks)} tasks)" if tasks else suite, "modes": modes}


def eval_results(evaluation: dict) -> tuple[list, list[str]]:
    """huggingface_hub `EvalResult`s and body lines from a recorded evaluation."""
    from huggingface_hub import EvalResult
    results, lines = [], ["| mode | overall | per modality | tasks |", "|---|---|---|---|"]
    for mode, agg in evaluation.get("modes", {}).items():
        modality = agg.get("modality") or {}
        pieces = [(f"{mode} overall", agg["overall"])]
        pieces += [(f"{mode} {mod}", v) for mod, v in modality.items() if v is not None]
        for metric_name, value in pieces:
            results.append(EvalResult(task_type="feature-extraction", task_name="multimodal retrieval",
                                      dataset_type="umer1-eval", dataset_name=evaluation["dataset"],
                                      metric_type="main_score_mean", metric_name=metric_name,
                                      metric_value=round(100 * value, 2)))
        per_mod = ", ".join(f"{mod} {100 * v:.1f}" for mod, v in modality.items() if v is not None)
        lines.append(f"| {mode} | {100 * agg['overall']:.1f} | {per_mod} | "
                     f"{(agg.get('num_tasks') or {}).get('overall', '?')} |")
    return results, lines


def _table(rows: list[tuple[str, str]]) -> list[str]:
    return ["| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows]


def render_card(model_dir: str | Path, provenance: Provenance, *, name: str | None = None,
                eval_dir: str | Path | None = None) -> str:
    """The card's text (metadata block + body) for the model saved in `model_dir`."""
    from huggingface_hub import ModelCardData
    model_dir = Path(model_dir)
    settings = EmbeddingSettings.load(model_dir)
    has_settings = (model_dir / SETTINGS_FILE).is_file()
    ids = embedding_token_ids(model_dir)
    facts = _model_facts(model_dir)
    name = name or model_dir.resolve().name
    base = provenance.base_model or facts["adapter_of"]
    if eval_dir is not None:       # else the scores an earlier card recorded, if any
        provenance = replace(provenance, evaluation=read_evaluation(Path(eval_dir)))
    results, eval_lines = eval_results(provenance.evaluation) if provenance.evaluation else ([], [])

    data = ModelCardData(
        library_name="peft" if facts["peft"] else "transformers",
        pipeline_tag="feature-extraction",
        tags=["umer1", "ume-r1", "multimodal-embedding", "embeddings", "retrieval",
              *([provenance.stage] if provenance.stage != "unknown" else [])],
        base_model=base if base and _HUB_ID.match(base) and not Path(base).exists() else None,
        model_name=name if results else None, eval_results=results or None,
        umer1={**{k: v for k, v in asdict(provenance).items() if v not in (None, {})},
               "version": _umer1_version()})

    modes = [f"disc (`{DISC_TOKEN}`, id {ids[DISC_TOKEN]})" if DISC_TOKEN in ids else None,
             f"gen (`{GEN_TOKEN}`, id {ids[GEN_TOKEN]})" if GEN_TOKEN in ids else None]
    step = "" if provenance.step is None else (
        f"{provenance.step}" + (f" of {provenance.total_steps}" if provenance.total_steps else ""))
    body = [f"# {name}", "",
            "A UME-R1 multimodal embedding model: any mix of text, images and video gets a "
            "**discriminative** embedding (read at the `<disc_emb>` prompt token, one forward "
            "pass) and a **generative** one (read at the `<gen_emb>` token the model writes after "
            "a short reasoning trace and a summary).", "",
            "## Provenance", "",
            *_table([("stage", provenance.stage), ("base model", f"`{base}`" if base else "-"),
                     ("steps", step or "-"),
                     ("backbone", f"{facts['architecture']} ({facts['model_type']})"
                      if facts["architecture"] else "the base model's"),
                     ("format", "PEFT adapter" if facts["peft"] else "full weights"),
                     ("written by", f"umer1 {_umer1_version()}")]), ""]
    if provenance.data:
        body += ["Training data:", "", "| file | SHA-256 |", "|---|---|"]
        body += [f"| `{f}` | `{h}` |" for f, h in provenance.data.items()] + [""]
    pixels = (f"{settings.min_pixels:,} to {settings.max_pixels:,} a picture; "
              f"{settings.video_max_pixels:,} a video frame, {settings.video_frames} frames")
    fetch = ("none" if settings.fetch_min_pixels is None else
             f"{settings.fetch_min_pixels:,} to {settings.fetch_max_pixels:,} pixels first")
    body += ["## Embedding settings", "",
             *_table([("modes", ", ".join(m for m in modes if m) or "no embedding tokens found"),
                      ("embedding dimension", str(facts["hidden_size"] or "?")),
                      ("prompt format", f"`{settings.prompt_format}`"),
                      ("pixel limits", pixels),
                      ("pre-resize (qwen-vl-utils fetch_image)", fetch),
                      ("blank image for text-only inputs", "yes" if settings.blank_image_for_text else "no"),
                      ("disc and gen spaces aligned", "yes: a gen query may search a disc corpus"
                       if settings.spaces_aligned else "no: compare queries and candidates in the same mode")]),
             "", f"Read from `{SETTINGS_FILE}`." if has_settings else
             f"No `{SETTINGS_FILE}`: the released checkpoints' format is assumed.", ""]
    if eval_lines:
        body += ["## Evaluation", "",
                 f"Main metric x 100, mean over tasks (`umer1 eval`, {data.eval_results[0].dataset_name}).",
                 "", *eval_lines, ""]
    body += ["## Use", "", "```python", "from umer1 import UMEModel", "",
             f'model = UMEModel.from_pretrained("{name}")   # this folder, or its hub id',
             'disc = model.encode(["a dog on a beach"], mode="disc")',
             'out = model.generate([{"text": "Represent the given image", "image": "dog.jpg"}],',
             "                     max_new_tokens=1024)   # out.embeddings, out.texts", "```", ""]
    config = model_dir / CONFIG_FILE
    if config.is_file():
        body += ["## Configuration", "", f"The resolved configuration (`{CONFIG_FILE}`):", "",
                 "```yaml", config.read_text(encoding="utf-8").rstrip(), "```", ""]
    elif provenance.options:
        body += ["## Configuration", "", f"Made by `umer1 {provenance.stage}` with:", "",
                 "```yaml", yaml.safe_dump(provenance.options, sort_keys=False).rstrip(), "```", ""]
    return f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(body)


def read_provenance(model_dir: str | Path) -> Provenance:
    """The provenance an earlier card recorded (`Provenance()` when there is none)."""
    path = Path(model_dir) / CARD_FILE
    if not path.is_file():
        return Provenance()
    text = path.read_text(encoding="utf-8")
    match = re.match(r"^---\n(.*?)\n---\n", text, flags=re.S)
    try:
        meta = yaml.safe_load(match.group(1)) if match else {}
    except yaml.YAMLError:
        meta = {}
    prov = Provenance.from_dict((meta or {}).get("umer1"))
    if prov.base_model is None and isinstance((meta or {}).get("base_model"), str):
        prov.base_model = meta["base_model"]
    return prov


def write_card(model_dir: str | Path, provenance: Provenance | None = None, *,
               name: str | None = None, eval_dir: str | Path | None = None) -> Path:
    """Write (atomically) the card of `model_dir`; `provenance=None` keeps the recorded one
    (scores included, unless `eval_dir` gives new ones)."""
    model_dir = Path(model_dir)
    if not (model_dir / "config.json").is_file() and not (model_dir / "adapter_config.json").is_file():
        raise InputError("not a model folder (no config.json or adapter_config.json)",
                         file=str(model_dir))
    text = render_card(model_dir, provenance or read_provenance(model_dir), name=name,
                       eval_dir=eval_dir)
    with atomic_path(model_dir / CARD_FILE) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return model_dir / CARD_FILE
