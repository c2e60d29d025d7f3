"""Options shared by `umer1 index build`, `umer1 index add` and `umer1 search`."""
from __future__ import annotations

from umer1.engine.params import DEFAULT_MAX_NEW_TOKENS


def add_model_arguments(p, required: bool = True):
    p.add_argument("--model", required=required,
                   help="model directory or hub id" + ("" if required else
                                                       " (default: the model recorded in the index)"))
    p.add_argument("--dtype", default=None, help="float32, bfloat16, float16 or auto")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ...")
    p.add_argument("--adapter", default=None, help="PEFT adapter directory")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--max-new-tokens", type=int, default=DEFAULT_MAX_NEW_TOKENS,
                   help="gen mode token cap")


def add_corpus_arguments(p):
    p.add_argument("--input", required=True,
                   help="corpus JSONL: {\"id\"?, \"text\"?, \"image\"?, \"video\"?, ...} per row; "
                        "other fields are kept as metadata")
    p.add_argument("--chunk-size", type=int, default=512,
                   help="rows embedded between checkpoints (a killed job resumes from the last)")
    p.add_argument("--cache-dir", default=None,
                   help="keep the embeddings in this cache (shared with `umer1 eval --cache-dir`); "
                        "default: a work folder inside the index, removed once it is saved")
    p.add_argument("--no-progress", dest="show_progress", action="store_false")
