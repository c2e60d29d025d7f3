"""Normalisation to the SFT answer and the paper's filters, with one reason per drop."""
from __future__ import annotations

import pytest

from umer1.annotate.filters import FilterConfig, Filters, longest_periodic_span
from umer1.annotate.normalise import FormatError, normalise


@pytest.mark.parametrize("raw", [
    "<think>a dog runs</think><answer>a running dog</answer>",
    "<think>\n a dog runs \n</think>\n\n<answer> a running dog",                 # no </answer>
    "Sure. <think>a dog runs</think><answer><|begin_of_box|>a running dog<|end_of_box|></answer>",
    "a dog runs</think><answer>a running dog</answer>",                        # pre-filled <think>
    "<think>a dog runs</think><answer>a running dog<gen_emb>",
])
def test_variants_normalise_to_one_answer(raw):
    assert normalise(raw) == "<think>a dog runs</think><answer>a running dog\n<gen_emb>"


@pytest.mark.parametrize("raw,why", [
    ("a running dog", "no </think>"),
    ("<think>x</think> a running dog", "no <answer>"),
    ("<think> </think><answer>dog</answer>", "empty reasoning"),
    ("<think>x</think><answer>  </answer>", "empty summary"),
    ("<think>x <think> y</think><answer>dog</answer>", "<think> inside the reasoning"),
    ("<think>x</think><answer>dog <disc_emb></answer>", "<disc_emb> inside the summary"),
])
def test_format_failures_say_why(raw, why):
    with pytest.raises(FormatError, match=why):
        normalise(raw)


def test_periodic_span():
    assert longest_periodic_span([1, 2, 3, 4], 4) == (0, 0)
    assert longest_periodic_span([9, 1, 2, 1, 2, 1, 2, 1, 8], 4) == (7, 2)
    assert longest_periodic_span([5] * 10, 4) == (10, 1)


def test_filters_reason_order_and_counts():
    words = lambda s: [hash(w) % 1000 for w in s.split()]   # one token per word
    f = Filters(FilterConfig(max_reasoning_tokens=20, max_repeat_span=12, max_repeat_period=4), words)
    ok = f.check("<think>one two three</think><answer>three</answer>")
    assert ok.ok and ok.reasoning_tokens == 3 and ok.answer.endswith("<answer>three\n<gen_emb>")
    assert f.check("<think>" + "w " * 21 + "</think><answer>x</answer>").reason == "reasoning_too_long"
    rep = f.check("<think>" + "a b " * 7 + "</think><answer>x</answer>")
    assert rep.reason == "repetition" and "period 1" not in rep.detail
    assert f.check("<think>x</think><answer>" + "go " * 12 + "</answer>").reason == "repetition"
    assert f.check("<think>cut off", "length").reason == "truncated"
    assert f.check("<think>cut off", "stop").reason == "format"
