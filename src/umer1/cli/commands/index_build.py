"""`umer1 index build`: embed a corpus JSONL into a new FAISS index directory."""
from __future__ import annotations

from umer1.cli.commands._index_args import add_corpus_arguments, add_model_arguments, load_model

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
    from umer1.index import add_corpus
    from umer1.index.corpus import read_corpus

    read_corpus(args.input)              # every row and file checked before loading a model
    model = load_model(args)
    index = add_corpus(args.out, model, args.input, mode=args.mode, create=True, kind=args.kind,
                       batch_size=args.batch_size, chunk_size=args.chunk_size,
                       show_progress=not args.no_progress, max_new_tokens=args.max_new_tokens,
                       nlist=args.nlist, nprobe=args.nprobe, hnsw_m=args.hnsw_m,
                       ef_search=args.ef_search)
    print(f"built a {index.kind} index of {len(index)} {index.mode} embeddings in {args.out}")
    return 0
