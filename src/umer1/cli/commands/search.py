"""`umer1 search`: embed a query (text and/or image) and print its nearest corpus rows."""
from __future__ import annotations

from umer1.cli.commands._index_args import add_model_arguments, load_model, recorded_model

NAME = "search"
HELP = "search a FAISS index with a text and/or image query"


def add_arguments(p):
    p.add_argument("index", help="index directory")
    add_model_arguments(p, required=False)
    p.add_argument("--text", default="", help="query text (include any task instruction)")
    p.add_argument("--image", action="append", default=[], help="query image path (repeatable)")
    p.add_argument("-k", type=int, default=10, help="results to return")
    p.add_argument("--mode", choices=["disc", "gen"], default=None,
                   help="query mode (default: the index's mode)")
    p.add_argument("--nprobe", type=int, default=None, help="IVF lists to search")
    p.add_argument("--ef-search", type=int, default=None, help="HNSW search breadth")
    p.add_argument("--json", action="store_true", help="print one JSON object per hit")


def run(args) -> int:
    import json

    from umer1.utils.errors import InputError
    from umer1.index import EmbeddingIndex, search_inputs
    from umer1.engine.inputs import EmbedInput, validate

    if args.k < 1:
        raise InputError("must be at least 1", field="-k")
    query = EmbedInput(text=args.text, images=list(args.image))
    validate(query)                      # an empty query or a bad image fails before loading
    index = EmbeddingIndex.load(args.index)
    model = load_model(args, args.model or recorded_model(index))
    hits = search_inputs(index, model, [query], k=args.k, mode=args.mode, nprobe=args.nprobe,
                         ef_search=args.ef_search)[0]
    for rank, h in enumerate(hits, start=1):
        if args.json:
            print(json.dumps({"rank": rank, "id": h.id, "score": h.score, "metadata": h.metadata},
                             ensure_ascii=False))
        else:
            label = h.metadata.get("text") or h.metadata.get("image") or ""
            print(f"{rank:>3}  {h.score:+.4f}  {h.id}  {str(label)[:80]}")
    return 0

