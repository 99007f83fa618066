import numpy as np
import pytest
import torch

from ptm_lib.bertology import PATTERNS, pattern_scores, top_heads

CLS, SEP = 2, 3


def one_hot_attention(targets, T):
    """(1, 1, T, T) attention where query i puts all its weight on key targets[i]."""
    probs = torch.zeros(1, 1, T, T)
    probs[0, 0, torch.arange(T), torch.tensor(targets)] = 1.0
    return probs


def test_a_previous_token_head_scores_one_on_that_pattern_only():
    ids = torch.tensor([[CLS, 7, 8, 9, SEP, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 1, 0]])
    previous = one_hot_attention([0, 0, 1, 2, 3, 4], 6)  # query 0 has no previous token
    to_cls = one_hot_attention([0] * 6, 6)
    scores = pattern_scores([previous, to_cls], ids, mask, CLS, SEP)
    assert list(scores) == list(PATTERNS)
    assert scores["previous token"][:, 0].tolist() == [1.0, pytest.approx(0.25)]  # layer 2: only query 1 hits
    assert scores["[CLS]"][:, 0].tolist() == [pytest.approx(2 / 5), 1.0]  # queries 0, 1 of 5; padding ignored
    assert scores["next token"][0, 0] == 0.0
    assert np.isnan(scores["same token"]).all()  # no token occurs twice
    assert top_heads(scores, k=1)["[CLS]"] == [(2, 1, 1.0)]


def test_same_token_looks_at_other_occurrences_only():
    ids = torch.tensor([[CLS, 7, 8, SEP, 7, SEP]])
    mask = torch.ones_like(ids)
    probs = one_hot_attention([0, 4, 2, 3, 1, 5], 6)  # the two 7s look at each other
    scores = pattern_scores([probs], ids, mask, CLS, SEP)
    assert scores["same token"][0, 0] == 1.0  # [SEP]s are not counted as "same token"
    assert scores["itself"][0, 0] == pytest.approx(4 / 6)
    with pytest.raises(ValueError, match="need_weights"):
        pattern_scores([], ids, mask, CLS, SEP)


def test_chapter_7_uses_chapter_4s_word_vector_tools_not_copies_of_them():
    from ptm_lib import bertology, probing

    for name in ("word_vectors", "cosine", "threshold_accuracy"):
        assert getattr(bertology, name) is getattr(probing, name)
