"""ELMo's inputs (ptm_lib.data.bilm): character ids, the word vocabulary, padded batches, windows."""

import pytest
import torch

from ptm_lib.data.bilm import BOW, EOW, SPECIALS, build_vocab, char_ids, corpus_windows, encode_batch, pad_id_of
from ptm_lib.data.vocab import Vocab

SENTENCES = [s.split() for s in ["the cat sat on the mat", "the dog sat on the log",
                                 "a cat and a dog ran", "the dog saw a cat on the mat"]]
VOCAB = build_vocab(SENTENCES * 2, min_count=1)


def batch(sentences=SENTENCES, **kw):
    return encode_batch(sentences, VOCAB, max_chars=10, **kw)


def test_char_ids_marks_bytes_cut_and_specials():
    assert char_ids("ab", 6) == [BOW, ord("a") + 1, ord("b") + 1, EOW, 0, 0]
    assert char_ids("abcdefgh", 5) == [BOW, ord("a") + 1, ord("b") + 1, ord("c") + 1, EOW]  # cut
    assert len(char_ids("é", 6)) == 6 and char_ids("é", 6)[1:3] == [0xC3 + 1, 0xA9 + 1]  # UTF-8 bytes
    assert char_ids("<s>", 5)[:3] == [BOW, 259, EOW] and char_ids("</s>", 5)[:3] == [BOW, 260, EOW]
    assert char_ids("<pad>", 5) == [0] * 5
    with pytest.raises(ValueError, match="at least 3"):
        char_ids("a", 2)


def test_the_vocabulary_has_the_specials_first_and_pad_is_one():
    assert VOCAB.itos[:4] == list(SPECIALS) and pad_id_of(VOCAB) == 1
    with pytest.raises(ValueError, match="no <pad> token; build it with ptm_lib.data.bilm.build_vocab"):
        pad_id_of(Vocab.build(SENTENCES, min_count=1))


def test_encode_batch_pads_on_the_right_and_keeps_unknown_spelling():
    words, chars = batch([["the", "zebra"], ["a", "cat", "sat"]], boundaries=True)
    pad, unk = VOCAB["<pad>"], VOCAB["<unk>"]
    assert words.shape == (2, 5) and chars.shape == (2, 5, 10)
    assert VOCAB.decode(words[0]) == ["<s>", "the", "<unk>", "</s>", "<pad>"] and words[0, 4] == pad
    assert words[0, 2] == unk and chars[0, 2].tolist() == char_ids("zebra", 10)
    assert (chars[0, 4] == 0).all()
    with pytest.raises(ValueError, match="token lists"):
        encode_batch(["the cat"], VOCAB)
    with pytest.raises(ValueError, match="empty"):
        encode_batch([[]], VOCAB)


def test_corpus_windows_match_encode_batch():
    words, chars = corpus_windows(SENTENCES, VOCAB, length=5, max_chars=10)
    stream = [w for s in SENTENCES for w in s]
    assert words.shape == (len(stream) // 5, 5) and chars.shape == (len(stream) // 5, 5, 10)
    ref_words, ref_chars = batch([stream[:5], stream[5:10]])
    assert torch.equal(words[:2], ref_words) and torch.equal(chars[:2].long(), ref_chars)
    with pytest.raises(ValueError, match="fewer than one window"):
        corpus_windows([["a"]], VOCAB, length=5)
