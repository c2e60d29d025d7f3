"""`umer1 embed` as a library call: a JSONL file of inputs -> an .npy array (and, in gen mode,
the generated texts), with everything a user can get wrong checked before the model loads."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from umer1.engine.loading import check_device, parse_dtype
from umer1.engine.params import GenParams, Mode, parse_mode
from umer1.utils.errors import InputError
from umer1.utils.files import atomic_paths, check_writable


@dataclass(frozen=True)
class EmbedFileOptions:
    model: str
    input: str
    output: str                     # .npy: (N, D), or (N, K, D) with num_samples K > 1
    mode: Mode = Mode.DISC
    texts: str | None = None        # JSONL of generated texts (gen mode)
    batch_size: int = 8
    gen: GenParams = field(default_factory=GenParams)
    dtype: str | None = None
    device: str | None = None
    attn_implementation: str | None = None
    adapter: str | None = None
    show_progress: bool = True

    def __post_init__(self):
        object.__setattr__(self, "mode", parse_mode(self.mode))
        if not isinstance(self.batch_size, int) or isinstance(self.batch_size, bool) \
                or self.batch_size < 1:
            raise InputError(f"must be an integer >= 1, got {self.batch_size!r}", field="batch_size")
        if self.texts and self.mode is not Mode.GEN:
            raise InputError("--texts needs --mode gen", field="--texts")
        if not str(self.output).endswith(".npy"):
            raise InputError("the output must be a .npy file", field="--output")
        if self.texts and Path(self.texts).resolve() == Path(self.output).resolve():
            raise InputError("the texts file would overwrite the embeddings", field="--texts")
        parse_dtype(self.dtype)
        check_device(self.device)


@dataclass
class EmbedFileResult:
    shape: tuple
    mode: Mode
    output: str
    texts: str | None


def embed_file(opts: EmbedFileOptions) -> EmbedFileResult:
    """Read and check every row and file, check the outputs can be written, load the model,
    embed, then write the .npy and the texts as one unit (both written before either is
    renamed into place)."""
    import numpy as np

    from umer1.engine.inputs import read_embed_inputs, read_jsonl
    from umer1.engine.model import UMEModel

    items = read_embed_inputs(opts.input)
    check_writable(opts.output, "--output")
    if opts.texts:
        check_writable(opts.texts, "--texts")
    model = UMEModel.from_pretrained(opts.model, dtype=opts.dtype, device=opts.device,
                                     attn_implementation=opts.attn_implementation,
                                     adapter=opts.adapter)
    try:
        model.check_texts(items)
    except InputError as exc:   # its row counts inputs; name the file's line instead
        lines = [n for n, _ in read_jsonl(opts.input)]
        raise InputError(exc.message, file=str(opts.input), row=lines[exc.row - 1],
                         field=exc.field, kind=exc.kind) from None
    rows = None
    if opts.mode is Mode.DISC:
        emb = model.encode(items, mode=Mode.DISC, batch_size=opts.batch_size,
                           show_progress_bar=opts.show_progress)
    else:
        g = model.generate(items, batch_size=opts.batch_size, show_progress_bar=opts.show_progress,
                           params=opts.gen)
        emb = g.embeddings
        rows = [{"index": i, "text": g.texts[i], "found": g.found[i].tolist(),
                 "num_tokens": g.num_tokens[i].tolist()} for i in range(len(items))]
    outputs = [opts.output] + ([opts.texts] if opts.texts else [])
    with atomic_paths(*outputs) as tmps:
        with open(tmps[0], "wb") as fh:
            np.save(fh, emb)
        if opts.texts:
            _write_rows(tmps[1], rows)
    return EmbedFileResult(tuple(emb.shape), opts.mode, str(opts.output), opts.texts)


def _write_rows(path: Path, rows: list[dict]) -> None:
    import json
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
