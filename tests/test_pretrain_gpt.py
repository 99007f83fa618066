"""Chapter 6's pretraining objective (ptm_lib.pretrain.gpt): the two forms of its text, the token
stream and its perplexity."""

import pytest
import torch

from ptm_lib.data import lm
from ptm_lib.data.bpe import train_bpe
from ptm_lib.data.text import tokenize
from ptm_lib.models.gpt import GPT
from ptm_lib.models.transformer import TransformerConfig
from ptm_lib.pretrain.gpt import TEXT_FORMS, running_text, stream_perplexity, texts_of, token_stream

TEXTS = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog"] * 5


def test_stream_and_perplexity_of_an_untrained_model_is_near_vocab_size():
    tokenizer = train_bpe(TEXTS, vocab_size=60)
    stream = token_stream(tokenizer, TEXTS)
    assert stream.dtype == torch.long and len(stream) == sum(len(tokenizer.encode(t)) for t in TEXTS)
    torch.manual_seed(0)
    model = GPT(TransformerConfig(vocab_size=tokenizer.vocab_size, max_len=8, d_model=16, n_layers=1, n_heads=2))
    ppl = stream_perplexity(model, lm.chunks(stream, 8))
    assert 0.7 * tokenizer.vocab_size < ppl < 1.3 * tokenizer.vocab_size
    assert model.training  # restored


def test_running_text_keeps_case_and_punctuation_in_ascii_on_one_line():
    raw = "Caf\u00e9 \u201cnoir\u201d\u2014 it\u2019s 5%.\n\nSaid \u03a3 Anna\u2026\tthen\u00a0left!"
    assert running_text(raw) == "Cafe \"noir\"- it's 5%. Said Anna... then left!"
    assert running_text("") == "" and running_text(" \n ") == ""


def test_the_two_text_forms_hold_the_same_documents():
    assert set(TEXT_FORMS) == {"words", "running"}
    words, running = texts_of("words"), texts_of("running")
    for plain, written in zip(words, running):  # pretraining corpus, then held-out articles
        assert len(plain) == len(written) > 400
        for i in (0, len(plain) // 2, len(plain) - 1):  # the same document, up to case and punctuation
            assert plain[i].split()[:5] == tokenize(written[i])[:5], (plain[i][:80], written[i][:80])
        assert all(text.isascii() and "\n" not in text for text in written)
    assert all(", " in t for t in running[0][:100]) and not any(", " in t or ". " in t for t in words[0])


def test_an_unknown_text_form_is_refused_with_the_choices():
    with pytest.raises(ValueError, match=r"unknown text form 'cased'; choose one of \['running', 'words'\]"):
        texts_of("cased")
