"""FAISS indexes of UME embeddings (`umer1 index build|add`, `umer1 search`)."""
from umer1.index.corpus import add_corpus, read_corpus, search_inputs
from umer1.index.faiss_index import EmbeddingIndex, Hit
from umer1.index.identity import model_identity

__all__ = ["EmbeddingIndex", "Hit", "add_corpus", "model_identity", "read_corpus", "search_inputs"]
