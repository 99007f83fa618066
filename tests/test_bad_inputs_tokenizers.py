"""Bad input to the vocabularies and tokenizers gets a clear error that names the fix, and text a
tokenizer cannot represent no longer vanishes silently (the "bad input" issue).

The book's BPE (chapter 6) was trained on lower-cased text without punctuation, so
``decode(encode("The film stars Tom Hanks"))`` is ``"he film stars om anks"``. Its ids must
not change (chapter 6's outputs depend on them), so ``encode`` keeps them and warns instead,
naming the characters and the fix.
"""

import warnings

import numpy as np
import pytest
import torch

from ptm_lib import checkpoints
from ptm_lib.data.bpe import UnknownTextWarning, learn_bpe, train_bpe
from ptm_lib.data.vocab import Vocab
from ptm_lib.data.wordpiece import train_wordpiece

TEXTS = ["the cat sat on the mat", "the dog sat on the log", "lower lowest newer newest"] * 5


@pytest.fixture(scope="module")
def book_bpe():
    """The tokenizer saved with chapter 6's GPT checkpoint."""
    return checkpoints.load(checkpoints.book_checkpoint("gpt_small.pt"))[1]


@pytest.fixture(scope="module")
def wordpiece():
    return train_wordpiece(TEXTS, vocab_size=80)


class TestVocab:
    @pytest.mark.parametrize("ids, error", [([-1], ValueError), ([4], ValueError), ([1.7], TypeError),
                                            (np.array([1.0, 2.0]), TypeError)])
    def test_decode_refuses_ids_it_does_not_have(self, ids, error):  # [-1] used to give the last word
        with pytest.raises(error, match=r"outside the vocabulary 0..3; decode ids with the vocabulary|must be integ"):
            Vocab({"the": 5, "cat": 3, "sat": 2}).decode(ids)

    def test_a_string_is_not_a_token_list(self):  # its characters used to be read as tokens
        vocab = Vocab({"the": 5, "cat": 3})
        with pytest.raises(TypeError, match=r"got the string 'the cat'.*split it first, e.g. ptm_lib.data.text.tok"):
            vocab.encode("the cat")
        with pytest.raises(TypeError, match=r"each document takes a list of tokens, got the string 'the cat sat'"):
            Vocab.build(["the cat sat"])
        with pytest.raises(TypeError, match=r"takes a \{word: count\} mapping, got list; .* use Vocab.build"):
            Vocab(["the", "cat"])

    def test_decode_reads_a_batch_of_one(self):
        vocab = Vocab({"the": 5, "cat": 3})
        assert vocab.decode(torch.tensor([[1, 2]])) == vocab.decode(np.array([1, 2])) == ["the", "cat"]


class TestBookBPE:
    @pytest.mark.parametrize("text, lost, fix", [
        ("The film stars Tom Hanks", "'T', 'H'", r"trained on lower-cased text: lower-case the text first"),
        ("prices rose 5% €3", "'%', '€'", r"never occurred in the tokenizer's training text: replace or remove")])
    def test_encode_says_what_it_drops(self, book_bpe, text, lost, fix):
        with pytest.warns(UnknownTextWarning, match=rf"cannot represent {lost}: they became <unk>, which decode\(\) "
                                                    rf"drops\. .*{fix}"):
            ids = book_bpe.encode(text)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert book_bpe.encode(text, on_unknown="ignore") == ids  # the ids themselves are unchanged
        with pytest.raises(ValueError, match=f"cannot represent {lost}"):
            book_bpe.encode(text, on_unknown="error")

    def test_one_warning_for_a_batch(self, book_bpe):
        with pytest.warns(UnknownTextWarning) as caught:
            book_bpe.encode_batch(["The film", "The end", "ok"])
        assert len(caught) == 1 and "'T'" in str(caught[0].message)

    def test_the_chapters_text_stays_silent(self, book_bpe):
        prompts = ["the prime minister said that", "the film stars", "shares rose 3.5 per cent to 1,000 in 2019",
                   "state-of-the-art models don't <s> cost <$> much <e>", "<unk> stays a special token"]
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            book_bpe.encode_batch(prompts)
            for prompt in prompts:
                book_bpe.encode(prompt)

    def test_decode_reads_what_generate_returns(self, book_bpe):  # (1, T): 'only one element tensors ...'
        ids = book_bpe.encode("the film stars")
        assert book_bpe.decode(torch.tensor([ids])) == "the film stars"
        with pytest.raises(ValueError, match=r"shape \(2, \d+\); pass one row \(ids\[0\]\), or decode each row"):
            book_bpe.decode(torch.tensor([ids, ids]))

    def test_on_unknown_must_be_known(self, book_bpe):
        with pytest.raises(ValueError, match=r"on_unknown='loud'; use one of \('warn', 'error', 'ignore'\)"):
            book_bpe.encode("the", on_unknown="loud")


class TestTraining:
    @pytest.mark.parametrize("train", [train_bpe, train_wordpiece])
    def test_a_string_is_not_a_list_of_texts(self, train):  # used to train on its characters
        with pytest.raises(TypeError, match=r"takes a list of texts, got one string .* pass \[text\]"):
            train("the cat sat on the mat")

    @pytest.mark.parametrize("train", [train_bpe, train_wordpiece])
    def test_vocab_size(self, train):  # -1 gave OverflowError: can't convert negative int to unsigned
        with pytest.raises(ValueError, match=r"vocab_size must be a positive number of tokens, got -1; pass e.g."):
            train(TEXTS, vocab_size=-1)

    def test_learn_bpe_needs_counts(self):
        with pytest.raises(TypeError, match=r"\{word: count\} mapping, got str; count the words first"):
            learn_bpe("low lower", 3)


class TestSubwordInputs:
    def test_encode_needs_a_string(self, book_bpe, wordpiece):
        for tok in (book_bpe, wordpiece):
            with pytest.raises(TypeError, match=r"encode\(\)'s text must be a string, got NoneType None"):
                tok.encode(None)
            with pytest.raises(TypeError, match=r"got list \['the', 'cat'\]; pass the text as one str, e.g. ' '.join"):
                tok.encode(["the", "cat"])
            with pytest.raises(TypeError, match=r"encode_batch\(\) takes a list of texts, got one string"):
                tok.encode_batch("the cat")  # used to encode every character as a text

    def test_decode_refuses_floats(self, book_bpe, wordpiece):  # 7.9 used to become 7
        for tok in (book_bpe, wordpiece):
            with pytest.raises(TypeError, match=r"ids must be integers, got 7.9 \(float\); decode ids made by this"):
                tok.decode([7.9])

    def test_wordpiece_keeps_bert_convention_but_can_warn(self, wordpiece):
        assert wordpiece.decode(torch.tensor([wordpiece.encode("the cat")])) == "the cat"
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ids = wordpiece.encode("the zebra")  # [UNK] in the ids, as in BERT
        assert wordpiece.unk_id in ids
        with pytest.warns(UnknownTextWarning, match="cannot represent 'zebra'"):
            wordpiece.encode("the zebra", on_unknown="warn")
