from collections import Counter

import numpy as np
import pytest

from ptm_lib.data.vocab import OutOfVocabularyError, Vocab


def test_order_specials_then_count_then_alphabet():
    vocab = Vocab(Counter({"b": 2, "a": 2, "the": 5, "c": 1}), specials=("<unk>", "<eos>"))
    assert vocab.itos == ["<unk>", "<eos>", "the", "a", "b", "c"]
    assert vocab.stoi == {w: i for i, w in enumerate(vocab.itos)}
    assert vocab.counts.dtype == np.int64
    assert vocab.counts.tolist() == [0, 0, 5, 2, 2, 1]
    assert vocab.unk_id == 0 and vocab.unk == "<unk>" and len(vocab) == 6


def test_ids_do_not_depend_on_insertion_order():
    first = Vocab({"x": 3, "y": 3, "z": 3})
    second = Vocab({"z": 3, "x": 3, "y": 3})
    assert first.itos == second.itos == ["<unk>", "x", "y", "z"]


def test_min_count_and_max_size_fold_into_unk():
    docs = [["a", "a", "a", "b", "b", "c"], ["d", "a", "b"]]
    vocab = Vocab.build(docs, min_count=2)
    assert vocab.itos == ["<unk>", "a", "b"]
    assert vocab.counts.tolist() == [2, 4, 3]  # c and d are dropped: 2 tokens
    assert vocab.counts.sum() == 9  # still the corpus size
    capped = Vocab.build(docs, max_size=1)
    assert capped.itos == ["<unk>", "a"] and capped.counts.tolist() == [5, 4]
    assert np.isclose(vocab.frequencies().sum(), 1.0)


def test_corpus_unk_tokens_map_to_the_special():
    """PTB already contains <unk>: it is one entry, and its counts add to dropped words."""
    docs = [["<unk>", "the", "<unk>", "cat", "rare"], ["the", "<eos>"]]
    vocab = Vocab.build(docs, min_count=2, specials=("<unk>", "<eos>"))
    assert vocab.itos.count("<unk>") == 1
    assert vocab.itos == ["<unk>", "<eos>", "the"]
    assert vocab.counts.tolist() == [4, 1, 2]  # 2 corpus <unk> + cat + rare
    assert vocab["<unk>"] == vocab.unk_id == 0 and vocab["<eos>"] == 1


def test_encode_decode_round_trip_and_unknowns():
    vocab = Vocab.build([["the", "cat", "sat", "on", "the", "mat"]])
    ids = vocab.encode(["the", "cat", "sat"])
    assert ids.dtype == np.int64
    assert vocab.decode(ids) == ["the", "cat", "sat"]
    assert vocab.encode(["the", "dog"]).tolist() == [vocab["the"], vocab.unk_id]
    assert vocab.decode(vocab.encode(["dog"])) == ["<unk>"]
    assert vocab.encode([]).shape == (0,)


def test_contains_only_real_entries():
    vocab = Vocab.build([["a", "b", "b"]], min_count=2)
    assert "b" in vocab and "a" not in vocab and "<unk>" in vocab
    assert vocab["a"] == vocab.unk_id


def test_index_raises_a_helpful_key_error():
    vocab = Vocab.build([["Paris", "paris", "paris"]], min_count=2)
    assert vocab.index("paris") == 1
    with pytest.raises(OutOfVocabularyError) as info:
        vocab.index("Paris")
    message = str(info.value)
    assert "'Paris'" in message and "2 words" in message and "min_count=2" in message
    assert "case" in message and "lower min_count" in message
    assert isinstance(info.value, KeyError)


def test_bad_arguments():
    with pytest.raises(ValueError, match="min_count"):
        Vocab({"a": 1}, min_count=0)
    with pytest.raises(ValueError, match="distinct"):
        Vocab({"a": 1}, specials=("<unk>", "<unk>"))


def test_closed_vocabulary_has_no_unknown_token():
    vocab = Vocab({"the": 5, "cat": 2, "rare": 1}, min_count=2, specials=())
    assert vocab.itos == ["the", "cat"] and vocab.unk_id is None and vocab.unk is None
    assert vocab.counts.tolist() == [5, 2]  # the dropped word's count goes nowhere
    assert vocab.encode_known(["the", "rare", "cat", "dog"]).tolist() == [0, 1]
    with pytest.raises(OutOfVocabularyError, match="'rare' is not in the vocabulary"):
        vocab.encode(["the", "rare"])
    with pytest.raises(OutOfVocabularyError):
        vocab["dog"]
