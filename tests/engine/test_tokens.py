import pytest
import torch

from umer1.engine.vocab import compact_tokenizer, qwen2_vl_tokenizer
from umer1.engine.tokens import TokenIds, add_embedding_tokens


@pytest.fixture(scope="module")
def qwen_tok():
    tok = qwen2_vl_tokenizer()
    add_embedding_tokens(tok)
    return tok


def test_real_tokenizer_ids_match_released_checkpoints(qwen_tok):
    assert qwen_tok("Hello world").input_ids == [9707, 1879]
    assert qwen_tok.convert_tokens_to_ids(["<|endoftext|>", "<|im_end|>", "<|image_pad|>",
                                           "<|video_pad|>"]) == [151643, 151645, 151655, 151656]
    assert qwen_tok.convert_tokens_to_ids(["<gen_emb>", "<disc_emb>"]) == [151657, 151658]


def test_prompt_literals_tokenise_to_the_added_tokens(qwen_tok):
    ids = qwen_tok("use the <gen_emb> tag\n<disc_emb>\n").input_ids
    assert 151657 in ids and 151658 in ids


def test_embedding_tokens_are_normal_tokens(qwen_tok):
    ids = qwen_tok("<answer>cat\n<gen_emb><|im_end|>").input_ids
    assert qwen_tok.decode(ids, skip_special_tokens=True) == "<answer>cat\n<gen_emb>"


def test_ids_are_looked_up_by_name(tiny_model_dir):
    from transformers import AutoProcessor
    tok = AutoProcessor.from_pretrained(tiny_model_dir).tokenizer
    ids = TokenIds.from_tokenizer(tok, ["<|image_pad|>"])
    assert ids.gen == tok.convert_tokens_to_ids("<gen_emb>") != 151657  # compact vocabulary
    assert ids.disc == tok.convert_tokens_to_ids("<disc_emb>")


def test_new_rows_start_as_their_source_rows(tiny_model_dir):
    from umer1 import UMEModel
    m = UMEModel.from_pretrained(tiny_model_dir)
    tok, w = m.processor.tokenizer, m.hf_model.get_input_embeddings().weight
    conv = tok.convert_tokens_to_ids
    assert torch.equal(w[conv("<gen_emb>")], w[conv("<|object_ref_end|>")])
    assert torch.equal(w[conv("<disc_emb>")], w[conv("<|object_ref_start|>")])


def test_adding_twice_is_a_no_op():
    tok = compact_tokenizer()
    assert add_embedding_tokens(tok) == ["<gen_emb>", "<disc_emb>"]
    n = len(tok)
    assert add_embedding_tokens(tok) == [] and len(tok) == n
