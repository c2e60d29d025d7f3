"""The FAISS index kinds: how each is built, searched, and how much memory it needs.

Every kind is a `faiss.index_factory` string over inner product (cosine on unit vectors):
  flat   exact, float32                     fp16  flat with float16 codes (exact-ish)
  sq8    flat with 8-bit codes (exact-ish)  ivf   inverted lists of float32 vectors
  ivfpq  inverted lists of PQ codes, re-ranked from 8-bit codes (`refine`)
  opq    ivfpq after a learned rotation (helps when the dimensions are correlated)
  hnsw   a graph over float32 vectors
Trained kinds learn their quantizers from a seeded sample (`train_size` vectors); faiss's own
k-means seeds are fixed, so the same sample gives the same index.

Sizes follow the layouts faiss stores (bytes per vector plus a fixed part); `estimate` is
what the build prints before it starts and `tests/index/test_kinds.py` checks it against the
written files.
"""
from __future__ import annotations

import math

import faiss
import numpy as np

from umer1.utils.errors import InputError

KINDS = ("flat", "fp16", "sq8", "ivf", "ivfpq", "opq", "hnsw")
TRAINED = {"sq8", "ivf", "ivfpq", "opq"}
REFINES = {"none": "", "sq8": ",Refine(SQ8)", "fp16": ",Refine(SQfp16)", "flat": ",RFlat"}
REFINE_BYTES = {"none": 0, "sq8": 1, "fp16": 2, "flat": 4}      # per dimension

DEFAULT_PARAMS = {"nlist": None, "nprobe": 16, "hnsw_m": 32, "ef_search": 64, "pq_m": None,
                  "pq_bits": 8, "refine": "sq8", "k_factor": 16, "train_size": 20_000, "seed": 0}

# recall@10 against exact search at the default settings, measured on the synthetic corpus of
# benchmarks/index_build.py (100k vectors, d=64); the build report measures it on your corpus.
TYPICAL_RECALL = {"flat": 1.0, "fp16": 1.0, "sq8": 0.99, "ivf": 0.97, "ivfpq": 0.93, "opq": 0.93,
                  "hnsw": 0.97}


def check_params(kind: str, dim: int, params: dict) -> dict:
    """The full parameter set of a new index, with bad values refused by name."""
    if kind not in KINDS:
        raise InputError(f"unknown index kind {kind!r}; expected one of {', '.join(KINDS)}",
                         field="kind")
    p = {**DEFAULT_PARAMS, **{k: v for k, v in params.items() if v is not None}}
    unknown = set(p) - set(DEFAULT_PARAMS)
    if unknown:
        raise InputError(f"unknown index parameter(s) {', '.join(sorted(unknown))}")
    for name in ("nprobe", "hnsw_m", "ef_search", "k_factor", "train_size"):
        if p[name] < 1:
            raise InputError("must be at least 1", field="--" + name.replace("_", "-"))
    if p["refine"] not in REFINES:
        raise InputError(f"expected one of {', '.join(REFINES)}", field="--refine")
    if kind in ("ivfpq", "opq"):
        p["pq_m"] = p["pq_m"] or default_pq_m(dim)
        if dim % p["pq_m"]:
            raise InputError(f"{p['pq_m']} sub-quantizers do not divide the dimension {dim}",
                             field="--pq-m")
        if not 1 <= p["pq_bits"] <= 16:
            raise InputError("must be between 1 and 16", field="--pq-bits")
    return p


def default_pq_m(dim: int) -> int:
    """About 4 dimensions per sub-quantizer (a divisor of `dim`)."""
    m = max(1, dim // 4)
    while dim % m:
        m -= 1
    return m


def default_nlist(n: int) -> int:
    return max(1, int(4 * math.sqrt(n)))


def training_rows(n: int, p: dict) -> np.ndarray:
    """Rows (sorted) of the seeded training sample out of `n` vectors."""
    if n <= p["train_size"]:
        return np.arange(n)
    return np.sort(np.random.default_rng(p["seed"]).choice(n, p["train_size"], replace=False))


def factory_string(kind: str, p: dict, nlist: int | None = None) -> str:
    if kind == "flat":
        return "Flat"
    if kind == "fp16":
        return "SQfp16"
    if kind == "sq8":
        return "SQ8"
    if kind == "hnsw":
        return f"HNSW{p['hnsw_m']},Flat"
    if kind == "ivf":
        return f"IVF{nlist},Flat"
    pq = f"IVF{nlist},PQ{p['pq_m']}x{p['pq_bits']}" + REFINES[p["refine"]]
    return f"OPQ{p['pq_m']},{pq}" if kind == "opq" else pq


def make_index(kind: str, dim: int, p: dict, nlist: int | None = None) -> faiss.Index:
    index = faiss.index_factory(dim, factory_string(kind, p, nlist), faiss.METRIC_INNER_PRODUCT)
    if kind in ("ivfpq", "opq"):
        ivf = faiss.downcast_index(faiss.extract_index_ivf(index))
        ivf.do_polysemous_training = False     # Hamming filtering is not used; it costs minutes
    return index


def set_search_params(index: faiss.Index, kind: str, *, nprobe: int, ef_search: int,
                      k_factor: int, k: int) -> None:
    ps = faiss.ParameterSpace()
    if kind in ("ivf", "ivfpq", "opq"):
        ps.set_index_parameter(index, "nprobe", min(nprobe, faiss.extract_index_ivf(index).nlist))
    refine = refine_of(index) if kind in ("ivfpq", "opq") else None
    if refine is not None:
        refine.k_factor = k_factor
    if kind == "hnsw":
        ps.set_index_parameter(index, "efSearch", max(ef_search, k))


def refine_of(index: faiss.Index):
    """The re-ranking stage of an (OPQ-rotated) IVF-PQ index, or None."""
    index = faiss.downcast_index(index)
    if isinstance(index, faiss.IndexPreTransform):
        index = faiss.downcast_index(index.index)
    return index if isinstance(index, faiss.IndexRefine) else None


def bytes_per_vector(kind: str, dim: int, p: dict) -> float:
    if kind == "flat":
        return 4 * dim
    if kind == "fp16":
        return 2 * dim
    if kind == "sq8":
        return dim
    if kind == "ivf":
        return 4 * dim + 8                      # the vector and its int64 id in a list
    if kind == "hnsw":
        m = p["hnsw_m"]                         # 2M int32 links at level 0, M per upper level
        return 4 * dim + 4 * (2 * m + m / (m - 1)) + 4 + 8   # + its level and offset
    code = math.ceil(p["pq_m"] * p["pq_bits"] / 8)
    return code + 8 + REFINE_BYTES[p["refine"]] * dim


def fixed_bytes(kind: str, dim: int, p: dict, nlist: int) -> float:
    """Trained parts: centroids, codebooks, rotations, scalar ranges."""
    if kind == "sq8":
        return 2 * 4 * dim
    if kind == "ivf":
        return 4 * dim * nlist
    if kind in ("ivfpq", "opq"):
        extra = 4 * dim * dim if kind == "opq" else 0
        refine = 2 * 4 * dim if p["refine"] == "sq8" else 0
        return 4 * dim * nlist + 4 * dim * 2 ** p["pq_bits"] + extra + refine
    return 0


def estimate(kind: str, dim: int, n: int, p: dict) -> dict:
    nlist = p["nlist"] or default_nlist(n)
    per = bytes_per_vector(kind, dim, p)
    return {"kind": kind, "vectors": n, "dim": dim, "bytes_per_vector": round(per, 1),
            "total_bytes": int(per * n + fixed_bytes(kind, dim, p, nlist)),
            "flat_bytes": 4 * dim * n, "typical_recall@10": TYPICAL_RECALL[kind]}


def describe(est: dict) -> str:
    return (f"{est['kind']} index of {est['vectors']:,} x {est['dim']}: about "
            f"{est['bytes_per_vector']:g} bytes per vector, {_human(est['total_bytes'])} in all "
            f"({est['total_bytes'] / max(1, est['flat_bytes']):.0%} of flat); recall@10 to "
            f"expect about {est['typical_recall@10']:.2f} (measured after the build)")


def _human(b: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if b < 1024 or unit == "GiB":
            return f"{b:.1f} {unit}" if unit != "B" else f"{int(b)} B"
        b /= 1024
    return f"{b:.1f} TiB"
