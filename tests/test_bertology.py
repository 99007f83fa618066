import numpy as np
import pytest
import torch

from ptm_lib.bertology import PATTERNS, fill_blanks, pattern_scores, top_heads
from ptm_lib.data.wordpiece import train_wordpiece
from ptm_lib.models.bert import BertConfig, BertForPretraining

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


@pytest.fixture(scope="module")
def tiny_tokenizer():
    return train_wordpiece(["the bank raised its rates", "the team won the cup", "the river burst its bank"] * 5,
                           vocab_size=60)


def tiny_bert(tokenizer, **kw):
    torch.manual_seed(0)
    return BertForPretraining(BertConfig(tokenizer.vocab_size, max_len=12, d_model=16, n_layers=1, n_heads=2, **kw))


def test_fill_blanks_gives_the_head_s_most_likely_pieces_for_each_blank(tiny_tokenizer):
    model = tiny_bert(tiny_tokenizer).train()
    guesses = fill_blanks(model, tiny_tokenizer, "the [MASK] raised its [MASK]", k=3)
    assert model.training, "fill_blanks puts the model back in the mode it was in"
    ids = torch.tensor([tiny_tokenizer.encode("the [MASK] raised its [MASK]")])
    with torch.no_grad():
        probs = model.eval()(ids)[0][0].softmax(-1)
    blanks = (ids[0] == tiny_tokenizer.mask_id).nonzero().flatten().tolist()
    assert len(blanks) == len(guesses) == 2
    for blank, position in zip(guesses, blanks):
        top = probs[position].topk(3)
        assert [piece for piece, _ in blank] == [tiny_tokenizer.id_to_token(i) for i in top.indices.tolist()]
        assert [p for _, p in blank] == pytest.approx(top.values.tolist())


def test_what_fills_a_blank_depends_on_the_right_only_for_bert(tiny_tokenizer):
    both, left = tiny_bert(tiny_tokenizer), tiny_bert(tiny_tokenizer, attention="left-to-right")
    a, b = "the [MASK] raised its rates", "the [MASK] won the cup"
    assert fill_blanks(left, tiny_tokenizer, a) == fill_blanks(left, tiny_tokenizer, b)
    assert fill_blanks(both, tiny_tokenizer, a) != fill_blanks(both, tiny_tokenizer, b)


def test_fill_blanks_names_the_fix_for_bad_text(tiny_tokenizer):
    model = tiny_bert(tiny_tokenizer)
    with pytest.raises(ValueError, match="no \\[MASK\\] in 'the bank'; write \\[MASK\\] where a word is missing"):
        fill_blanks(model, tiny_tokenizer, "the bank")
    with pytest.raises(ValueError, match="longer than the model's max_len=12; shorten it"):
        fill_blanks(model, tiny_tokenizer, "the [MASK] " + "bank " * 20)
