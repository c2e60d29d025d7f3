"""What `umer1 index build`, `umer1 index add` and `umer1 search` do, as library calls taking
typed requests. Every corpus row (or the query) is checked before a model is loaded.

Under `accelerate launch` every process loads the model on its own device and embeds its parts
of the corpus; the main process merges them and prints the summary (`umer1.index.build`)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from umer1.engine.inputs import EmbedInput, validate
from umer1.engine.params import DEFAULT_MAX_NEW_TOKENS, GenParams
from umer1.index.corpus import add_corpus, read_corpus, search_inputs
from umer1.index.faiss_index import EmbeddingIndex
from umer1.index.identity import model_identity
from umer1.index.report import REPORT
from umer1.utils.errors import InputError


@dataclass
class ModelRequest:
    """Which model embeds, and how (gen mode: greedy within `max_new_tokens`)."""
    model: str | None = None            # None: the model recorded in the index
    dtype: str | None = None
    device: str | None = None
    adapter: str | None = None
    batch_size: int = 8
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS

    def load(self, index: EmbeddingIndex | None = None, state=None):
        from umer1.engine.model import UMEModel
        name = self.model or recorded_model(index)
        # accelerate picks each process's device; a lone CPU process leaves the model where it loads
        on_accel = state is not None and (state.num_processes > 1 or state.device.type != "cpu")
        device = self.device or (str(state.device) if on_accel else None)
        return UMEModel.from_pretrained(name, dtype=self.dtype, device=device,
                                        adapter=self.adapter)

    @property
    def gen(self) -> GenParams:
        return GenParams(max_new_tokens=self.max_new_tokens)


def process_state():
    """accelerate's view of the processes of this run (one, unless launched by accelerate);
    without CUDA the processes talk over gloo on CPUs."""
    import torch
    from accelerate import PartialState
    return PartialState(cpu=not torch.cuda.is_available())


def recorded_model(index: EmbeddingIndex) -> str:
    """The model an index was built with: its local directory if it had one, else its id."""
    m = index.manifest["model"]
    return m.get("path") or m["name"]


@dataclass
class BuildRequest(ModelRequest):
    input: str = ""
    out: str = ""
    mode: str = "disc"
    kind: str = "flat"
    nlist: int | None = None
    nprobe: int | None = None
    hnsw_m: int | None = None
    ef_search: int | None = None
    pq_m: int | None = None
    pq_bits: int | None = None
    refine: str | None = None
    k_factor: int | None = None
    train_size: int | None = None
    seed: int | None = None
    chunk_size: int = 512
    cache_dir: str | None = None
    show_progress: bool = True


PARAMS = ("nlist", "nprobe", "hnsw_m", "ef_search", "pq_m", "pq_bits", "refine", "k_factor",
          "train_size", "seed")


def build_index(req: BuildRequest, say=print) -> str:
    """The summary line (empty on processes other than the main one)."""
    read_corpus(req.input)
    state = process_state()
    index = add_corpus(req.out, req.load(state=state), req.input, mode=req.mode, gen=req.gen,
                       create=True, kind=req.kind, batch_size=req.batch_size,
                       chunk_size=req.chunk_size, cache_dir=req.cache_dir,
                       show_progress=req.show_progress, state=state, say=say,
                       **{k: getattr(req, k) for k in PARAMS})
    if index is None:
        return ""
    report = json.loads((Path(req.out) / REPORT).read_text(encoding="utf-8"))
    return (f"built a {index.kind} index of {len(index)} {index.mode} embeddings in {req.out} "
            f"({report['measured_bytes_per_vector']:g} bytes per vector, recall@10 "
            f"{report['recall@10']:.3f} against exact search; report in {REPORT})")


@dataclass
class AddRequest(ModelRequest):
    index: str = ""
    input: str = ""
    chunk_size: int = 512
    cache_dir: str | None = None
    show_progress: bool = True


def add_to_index(req: AddRequest, say=print) -> str:
    """The summary line (empty on processes other than the main one)."""
    existing = EmbeddingIndex.load(req.index)
    read_corpus(req.input)
    state = process_state()
    index = add_corpus(req.index, req.load(existing, state=state), req.input, gen=req.gen,
                       batch_size=req.batch_size, chunk_size=req.chunk_size,
                       cache_dir=req.cache_dir, show_progress=req.show_progress, state=state,
                       say=say)
    if index is None:
        return ""
    return f"added {len(index) - len(existing)} rows; the index now holds {len(index)}"


@dataclass
class SearchRequest(ModelRequest):
    index: str = ""
    text: str = ""
    image: list[str] = field(default_factory=list)
    k: int = 10
    mode: str | None = None
    nprobe: int | None = None
    ef_search: int | None = None
    k_factor: int | None = None
    json: bool = False
    router: str | None = None       # route between a disc index (`index`) and `gen_index`
    gen_index: str | None = None    # the same corpus indexed in gen mode (not needed when aligned)


def search(req: SearchRequest) -> str:
    """The hits as text lines (or one JSON object per hit)."""
    if req.k < 1:
        raise InputError("must be at least 1", field="-k")
    query = EmbedInput(text=req.text, images=list(req.image))
    validate(query)
    index = EmbeddingIndex.load(req.index)
    model = req.load(index)
    kw = dict(nprobe=req.nprobe, ef_search=req.ef_search, k_factor=req.k_factor)
    if req.router:
        hits, cost = routed_search(req, index, model, query, kw)
    else:
        hits = search_inputs(index, model, [query], k=req.k, mode=req.mode, gen=req.gen, **kw)[0]
    lines = []
    for rank, h in enumerate(hits, start=1):
        if req.json:
            row = {"rank": rank, "id": h.id, "score": h.score, "metadata": h.metadata}
            if h.reasoning is not None:
                row["reasoning"] = h.reasoning
            lines.append(json.dumps(row, ensure_ascii=False))
        else:
            label = h.metadata.get("text") or h.metadata.get("image") or ""
            lines.append(f"{rank:>3}  {h.score:+.4f}  {h.id}  {str(label)[:80]}")
    if req.router:
        lines.append(json.dumps({"routing": cost}) if req.json else
                     f"routed: reasoned {cost['reasoned']} of {cost['queries']} queries, "
                     f"{cost['generated_tokens']} generated tokens, {cost['seconds_per_query']:.2f} s")
    return "\n".join(lines)


def routed_search(req: SearchRequest, disc_index: EmbeddingIndex, model, query, kw: dict):
    """Disc first; reason only when the router says so (`umer1.routing`). A disc index answers
    every query; a routed query searches `gen_index`, or the disc index for a model whose gen
    queries were trained to search a disc corpus (spaces_aligned)."""
    from umer1.engine.fingerprint import model_fingerprint
    from umer1.routing import TOP_K, Always, parse_router, route_query
    router = parse_router(req.router, model_fingerprint(model))
    never_reasons = isinstance(router, Always) and not router.gen
    if req.gen_index is None and not model.settings.spaces_aligned and not never_reasons:
        raise InputError("routing a model whose spaces are not aligned needs the corpus indexed in "
                         "gen mode too", field="--gen-index")
    gen_index = EmbeddingIndex.load(req.gen_index) if req.gen_index else disc_index
    info = model_identity(model)
    disc_index.check_query(info, "disc")
    if not never_reasons:
        gen_index.check_query(info, "gen")
    found: dict = {}

    def searcher(ix):
        def fn(rows, q):
            hits = ix.search(q, max(req.k, TOP_K), **kw)
            for hs in hits:
                found.update({h.id: h for h in hs})
            return [[h.id for h in hs] for hs in hits], [[h.score for h in hs] for hs in hits]
        return fn
    ids, scores, cost = route_query(model, query, router, searcher(disc_index), searcher(gen_index),
                                    req.gen)
    hits = [replace(found[i], score=float(s)) for i, s in zip(ids[:req.k], scores[:req.k])]
    return hits, cost
