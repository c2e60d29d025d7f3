"""`umer1 search`: embed a query (text and/or image) and print its nearest corpus rows."""
from __future__ import annotations

from umer1.cli.commands._index_args import add_model_arguments
from umer1.cli.commands._options import request

NAME = "search"
HELP = "search a FAISS index with a text and/or image query"


def add_arguments(p):
    from umer1.engine.params import MODES
    p.add_argument("index", help="index directory")
    add_model_arguments(p, required=False)
    p.add_argument("--text", default="", help="query text (include any task instruction)")
    p.add_argument("--image", action="append", default=[], help="query image path (repeatable)")
    p.add_argument("-k", type=int, default=10, help="results to return")
    p.add_argument("--mode", choices=MODES, default=None,
                   help="query mode (default: the index's mode)")
    p.add_argument("--nprobe", type=int, default=None, help="IVF lists to search")
    p.add_argument("--ef-search", type=int, default=None, help="HNSW search breadth")
    p.add_argument("--k-factor", type=int, default=None,
                   help="ivfpq / opq with refine: candidates re-ranked per result")
    p.add_argument("--json", action="store_true", help="print one JSON object per hit")
    p.add_argument("--router", default=None,
                   help="route per query: rule:T (disc margin below T reasons), gate:FILE[@T], "
                        "disc or gen; INDEX is then the disc-mode index (docs/routing.md)")
    p.add_argument("--gen-index", default=None,
                   help="with --router: the same corpus indexed in gen mode (not needed for a "
                        "model with aligned spaces)")


def run(args) -> int:
    from umer1.index.jobs import SearchRequest, search
    print(search(request(SearchRequest, args)))
    return 0
