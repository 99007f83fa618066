import numpy as np
import pytest
import torch

from ptm_lib.bertology import PATTERNS, best_threshold, encode_words, pattern_scores, threshold_accuracy, top_heads, \
    word_vectors
from ptm_lib.data.wordpiece import train_wordpiece
from ptm_lib.models.bert import BERT, BertConfig

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


@pytest.fixture(scope="module")
def tokenizer():
    return train_wordpiece(["the bank raised rates", "banking is a business", "they played in the park"] * 3,
                           vocab_size=60)


def test_word_vectors_average_a_words_pieces_at_every_layer(tokenizer):
    torch.manual_seed(0)
    bert = BERT(BertConfig(tokenizer.vocab_size, max_len=16, d_model=8, n_layers=2, n_heads=2)).eval()
    sentences = [["the", "banking", "business"], ["they", "played"]]
    ids, mask, word_ids = encode_words(tokenizer, sentences)
    vectors = word_vectors(bert, tokenizer, sentences, [1, 0], batch_size=1)
    assert vectors.shape == (2, 3, 8)
    with torch.no_grad():
        states = torch.stack(bert(ids, attention_mask=mask).hidden_states, 1)  # (2, 3, T, 8)
    pieces = [t for t, w in enumerate(word_ids[0]) if w == 1]
    assert len(pieces) >= 1
    torch.testing.assert_close(vectors[0], states[0][:, pieces].mean(1))
    with pytest.raises(ValueError, match="outside the sentence"):
        word_vectors(bert, tokenizer, sentences, [3, 0])


def test_threshold_is_chosen_on_dev_and_applied_to_test():
    t, acc = best_threshold([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])
    assert acc == 1.0 and 0.2 < t < 0.8
    t, test_acc = threshold_accuracy([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], [0.3, 0.7], [1, 1])
    assert test_acc == (0.5 if t > 0.3 else 1.0)
    with pytest.raises(ValueError, match="as many labels"):
        best_threshold([0.1], [])
