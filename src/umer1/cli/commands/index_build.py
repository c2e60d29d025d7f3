"""`umer1 index build`: embed a corpus JSONL into a new FAISS index directory."""
from __future__ import annotations

from umer1.cli.commands._index_args import add_corpus_arguments, add_model_arguments
from umer1.cli.commands._options import request

NAME = ("index", "build")
HELP = "embed a corpus JSONL into a new FAISS index (resumes if killed)"


def add_arguments(p):
    from umer1.engine.params import MODES
    add_model_arguments(p)
    add_corpus_arguments(p)
    p.add_argument("--out", required=True, help="index directory to create")
    p.add_argument("--mode", choices=MODES, default="disc")
    p.add_argument("--kind", default="flat",
                   help="flat = exact; fp16 / sq8 = flat with 2 / 1 bytes per dimension "
                        "(exact-ish); ivf, ivfpq, opq (compressed) and hnsw = approximate, for "
                        "large corpora (docs/scaling.md)")
    p.add_argument("--nlist", type=int, default=None, help="IVF lists (default 4*sqrt(N))")
    p.add_argument("--nprobe", type=int, default=None, help="IVF lists searched by default (16)")
    p.add_argument("--hnsw-m", type=int, default=None, help="HNSW neighbours per node (32)")
    p.add_argument("--ef-search", type=int, default=None, help="HNSW search breadth by default (64)")
    p.add_argument("--pq-m", type=int, default=None,
                   help="PQ sub-quantizers, a divisor of the dimension (default dim/4)")
    p.add_argument("--pq-bits", type=int, default=None, help="bits per PQ code (8)")
    p.add_argument("--refine", choices=["none", "sq8", "fp16", "flat"], default=None,
                   help="ivfpq / opq: re-rank the candidates from these stored codes (sq8)")
    p.add_argument("--k-factor", type=int, default=None,
                   help="candidates re-ranked per result with --refine (16)")
    p.add_argument("--train-size", type=int, default=None,
                   help="vectors in the seeded sample the quantizers learn from (20000)")
    p.add_argument("--seed", type=int, default=None, help="seed of that sample (0)")


def run(args) -> int:
    from umer1.index.jobs import BuildRequest, build_index
    summary = build_index(request(BuildRequest, args))
    if summary:
        print(summary)
    return 0
