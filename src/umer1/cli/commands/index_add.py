"""`umer1 index add`: embed more corpus rows into an existing FAISS index."""
from __future__ import annotations

from umer1.cli.commands._index_args import (add_corpus_arguments, add_model_arguments, load_model,
                                       recorded_model)

NAME = ("index", "add")
HELP = "add the rows of a corpus JSONL to an existing index (same model and mode)"


def add_arguments(p):
    p.add_argument("index", help="index directory")
    add_model_arguments(p, required=False)
    add_corpus_arguments(p)


def run(args) -> int:
    from umer1.index import EmbeddingIndex, add_corpus
    from umer1.index.corpus import read_corpus

    existing = EmbeddingIndex.load(args.index)
    read_corpus(args.input)
    model = load_model(args, args.model or recorded_model(existing))
    index = add_corpus(args.index, model, args.input, batch_size=args.batch_size,
                       chunk_size=args.chunk_size, show_progress=not args.no_progress,
                       max_new_tokens=args.max_new_tokens)
    print(f"added {len(index) - len(existing)} rows; the index now holds {len(index)}")
    return 0

