"""Options shared by `umer1 index build`, `umer1 index add` and `umer1 search`."""
from __future__ import annotations


def add_model_arguments(p, required: bool = True):
    p.add_argument("--model", required=required,
                   help="model directory or hub id" + ("" if required else
                                                       " (default: the model recorded in the index)"))
    p.add_argument("--dtype", default=None, help="float32, bfloat16, float16 or auto")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ...")
    p.add_argument("--adapter", default=None, help="PEFT adapter directory")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--max-new-tokens", type=int, default=8192, help="gen mode token cap")


def load_model(args, name=None):
    from umer1.engine.model import UMEModel
    return UMEModel.from_pretrained(name or args.model, dtype=args.dtype, device=args.device,
                                    adapter=args.adapter)


def add_corpus_arguments(p):
    p.add_argument("--input", required=True,
                   help="corpus JSONL: {\"id\"?, \"text\"?, \"image\"?, \"video\"?, ...} per row; "
                        "other fields are kept as metadata")
    p.add_argument("--chunk-size", type=int, default=512,
                   help="rows embedded between checkpoints (a killed job resumes from the last)")
    p.add_argument("--no-progress", action="store_true")


def recorded_model(index) -> str:
    """The model an index was built with: its local directory if it had one, else its id."""
    m = index.manifest["model"]
    return m.get("path") or m["name"]
