"""`umer1 index add`: embed more corpus rows into an existing FAISS index."""
from __future__ import annotations

from umer1.cli.commands._index_args import add_corpus_arguments, add_model_arguments
from umer1.cli.commands._options import request

NAME = ("index", "add")
HELP = "add the rows of a corpus JSONL to an existing index (same model and mode)"


def add_arguments(p):
    p.add_argument("index", help="index directory")
    add_model_arguments(p, required=False)
    add_corpus_arguments(p)


def run(args) -> int:
    from umer1.index.jobs import AddRequest, add_to_index
    summary = add_to_index(request(AddRequest, args))
    if summary:
        print(summary)
    return 0
