"""One on-disk embedding cache for every caller (evaluation, indexes): content-keyed, sharded,
resumable, keyed by the model fingerprint (`umer1.engine.fingerprint`) and the embedding spec."""
from umer1.store.cache import EmbeddingCache, cache_key
from umer1.store.content import content_key
from umer1.store.embedder import Embedder, NonFiniteEmbedding

__all__ = ["Embedder", "NonFiniteEmbedding", "EmbeddingCache", "cache_key", "content_key"]
