"""`umer1 annotate` as a library call: options -> teacher, filters, journal -> the SFT file.

Everything a user can get wrong (pairs, files, templates, options, output paths) is checked
before the first request. `resume_key` is what a resumed run must share with the journal.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from umer1.annotate.filters import FilterConfig, Filters, load_encoder, tokenizer_encoder
from umer1.annotate.journal import Journal
from umer1.annotate.pairs import read_annotation_pairs
from umer1.annotate.runner import Annotator, finalise
from umer1.annotate.teachers import (HFTeacher, OpenAITeacher, TeacherFatal, parse_teacher,
                                     split_openai)
from umer1.annotate.templates import Templates
from umer1.engine.params import GenParams
from umer1.utils.errors import InputError
from umer1.utils.files import check_writable


@dataclass(frozen=True)
class AnnotateOptions:
    teacher: str                      # openai:BASE_URL/MODEL or hf:DIR
    input: str
    output: str
    layout: str = "auto"
    image_root: str | None = None     # default: the input file's folder
    dataset_name: str | None = None
    concurrency: int = 8
    api_key: str | None = field(default=None, repr=False)
    template: str | None = None
    target_template: str | None = None
    filters: FilterConfig = field(default_factory=FilterConfig)
    tokenizer: str = "qwen"           # 'qwen', 'teacher' or a tokenizer folder
    gen: GenParams = field(default_factory=lambda: GenParams(max_new_tokens=9216))
    seed: int = 0
    timeout: float = 300.0
    max_retries: int = 6
    retry_base_delay: float = 1.0
    video_frames: int = 8
    max_image_pixels: int = 2_359_296
    device: str | None = None
    dtype: str | None = None
    retry_errors: bool = False
    restart: bool = False
    show_progress: bool = True

    def __post_init__(self):
        if self.concurrency < 1:
            raise InputError("must be at least 1", field="--concurrency")
        if Path(self.output).resolve() == Path(self.input).resolve():
            raise InputError("the output would overwrite the input", field="--output")
        if self.tokenizer == "teacher" and not self.teacher.startswith("hf:"):
            raise InputError("'teacher' needs an hf: teacher", field="--tokenizer")
        parse_teacher(self.teacher)

    @property
    def root(self) -> Path:
        return Path(self.image_root) if self.image_root else Path(self.input).parent


@dataclass(frozen=True)
class OutputPaths:
    records: Path
    journal: Path
    rejects: Path
    summary: Path

    @classmethod
    def of(cls, output: str | Path) -> "OutputPaths":
        out = Path(output)
        stem = out.name[:-len(".jsonl")] if out.name.endswith(".jsonl") else out.name
        return cls(out, out.with_name(out.name + ".journal"),
                   out.with_name(stem + ".rejects.jsonl"), out.with_name(stem + ".summary.json"))


def resume_key(opts: AnnotateOptions, teacher, templates: Templates) -> dict:
    """The settings that shape the answers: the journal's header, which a resumed run must
    match. The server's address may change between runs; the model and its sampling may not."""
    return {"teacher": {k: v for k, v in teacher.describe().items() if k != "url"},
            "templates": templates.digest(), "filters": opts.filters.as_dict(),
            "tokenizer": opts.tokenizer, "seed": opts.seed, "video_frames": opts.video_frames,
            "max_image_pixels": opts.max_image_pixels}


def make_teacher(opts: AnnotateOptions, stop: threading.Event):
    kind, rest = parse_teacher(opts.teacher)
    if kind == "hf":
        return HFTeacher(rest, device=opts.device, dtype=opts.dtype,
                         max_new_tokens=opts.gen.max_new_tokens, temperature=opts.gen.temperature,
                         seed=opts.seed, max_image_pixels=opts.max_image_pixels)
    base, model = split_openai(rest)
    return OpenAITeacher(base, model, api_key=opts.api_key, timeout=opts.timeout,
                         max_retries=opts.max_retries, backoff_base=opts.retry_base_delay,
                         max_tokens=opts.gen.max_new_tokens, temperature=opts.gen.temperature,
                         seed=opts.seed, max_image_pixels=opts.max_image_pixels,
                         concurrency=opts.concurrency, stop=stop)


def annotate_file(opts: AnnotateOptions) -> dict:
    """Annotate every pair of `opts.input` and write the SFT records, rejects and summary;
    returns the summary. A teacher no item can get past raises `TeacherFatal` (finished sides
    stay in the journal, and the same call resumes)."""
    pairs = read_annotation_pairs(opts.input, layout=opts.layout, image_root=opts.root,
                                  dataset_name=opts.dataset_name)
    templates = Templates.load(opts.template, opts.target_template)
    paths = OutputPaths.of(opts.output)
    for path in (paths.records, paths.journal, paths.rejects, paths.summary):
        check_writable(path, "--output")
    stop = threading.Event()
    teacher = make_teacher(opts, stop)
    try:
        encode = (tokenizer_encoder(teacher.tokenizer) if opts.tokenizer == "teacher"
                  else load_encoder(opts.tokenizer))
        if opts.restart and paths.journal.exists():
            paths.journal.unlink()
        journal = Journal(paths.journal, resume_key(opts, teacher, templates))
        try:
            annotator = Annotator(teacher, templates, Filters(opts.filters, encode), journal,
                                  opts.root, concurrency=opts.concurrency,
                                  video_frames=opts.video_frames, retry_errors=opts.retry_errors,
                                  show_progress=opts.show_progress, stop=stop)
            stats = annotator.run(pairs)
        except TeacherFatal as exc:
            raise TeacherFatal(f"{' '.join(str(exc).split())}; finished sides are kept in "
                               f"{paths.journal}, run the same command again to resume") from None
        finally:
            journal.close()
    finally:
        teacher.close()
    return finalise(pairs, journal, paths.records, rejects=paths.rejects, summary=paths.summary,
                    extra={"teacher": teacher.describe(), "input": str(opts.input),
                           "this_run": {"sides_asked": stats.asked,
                                        "sides_already_done": stats.already_done,
                                        "elapsed_s": round(stats.elapsed_s, 3)}})
