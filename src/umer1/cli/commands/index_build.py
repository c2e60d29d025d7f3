"""`umer1 index build`: embed a corpus JSONL into a new FAISS index directory."""
from __future__ import annotations

from umer1.cli.commands._index_args import add_corpus_arguments, add_model_arguments
from umer1.cli.commands._options import request

NAME = ("index", "build")
HELP = "embed a corpus JSONL into a new FAISS index (resumes if killed)"


def add_arguments(p):
    add_model_arguments(p)
    add_corpus_arguments(p)
    p.add_argument("--out", required=True, help="index directory to create")
    p.add_argument("--mode", choices=["disc", "gen"], default="disc")
    p.add_argument("--kind", choices=["flat", "ivf", "hnsw"], default="flat",
                   help="flat = exact inner product; ivf / hnsw = approximate, for large corpora")
    p.add_argument("--nlist", type=int, default=None, help="IVF lists (default 4*sqrt(N))")
    p.add_argument("--nprobe", type=int, default=8, help="IVF lists searched by default")
    p.add_argument("--hnsw-m", type=int, default=32, help="HNSW neighbours per node")
    p.add_argument("--ef-search", type=int, default=64, help="HNSW search breadth by default")


def run(args) -> int:
    from umer1.index.jobs import BuildRequest, build_index
    print(build_index(request(BuildRequest, args)))
    return 0
