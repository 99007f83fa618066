import math
import warnings

import pytest
import torch
import torch.nn.functional as F

from ptm_lib.data.bilm import build_vocab, char_ids, encode_batch
from ptm_lib.data.lm import Batches
from ptm_lib.models.elmo import (
    BiLM,
    BiLMConfig,
    ScalarMix,
    bilm_loss,
    direction_perplexity,
    embed_sentences,
    reverse_padded,
)
from ptm_lib.train import MixedPrecisionFallback, cpu_autocast_works, fit

pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
SENTENCES = [s.split() for s in ["the cat sat on the mat", "the dog sat on the log",
                                 "a cat and a dog ran", "the dog saw a cat on the mat"]]
VOCAB = build_vocab(SENTENCES * 2, min_count=1)
FILTERS = ((1, 4), (2, 4), (3, 8))


def tiny(encoder="char", **kw):
    torch.manual_seed(0)
    config = BiLMConfig(vocab_size=len(VOCAB), d_model=8, encoder=encoder, max_chars=10, char_dim=4,
                        filters=FILTERS, n_highway=1, **kw)
    return BiLM(config).eval()


def batch(sentences=SENTENCES, **kw):
    return encode_batch(sentences, VOCAB, max_chars=10, **kw)


# ----------------------------------------------------------------------------- ScalarMix


def test_scalar_mix_weights_sum_to_one_and_learn():
    mix = ScalarMix(3, gamma=2.0)
    with torch.no_grad():
        mix.scalars.copy_(torch.tensor([0.5, -1.0, 2.0]))
    assert mix.weights.sum().item() == pytest.approx(1.0) and (mix.weights > 0).all()
    layers = torch.randn(3, 2, 5, 6)
    s = torch.softmax(torch.tensor([0.5, -1.0, 2.0]), 0)
    expected = 2.0 * (s[0] * layers[0] + s[1] * layers[1] + s[2] * layers[2])
    torch.testing.assert_close(mix(layers), expected)
    (mix(layers) * torch.randn(2, 5, 6)).sum().backward()
    assert mix.scalars.grad is not None and mix.scalars.grad.abs().min() > 0
    assert mix.gamma.grad is not None and mix.gamma.grad.abs() > 0
    with pytest.raises(ValueError, match="Expected 3 layers"):
        mix(torch.randn(2, 4, 6))


# ----------------------------------------------------------------------------- padding (the inputs: test_bilm_data.py)


def test_reverse_padded_reverses_within_each_length_and_is_an_involution():
    x = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0]])
    out = reverse_padded(x, torch.tensor([3, 2]))
    assert out.tolist() == [[3, 2, 1, 0], [5, 4, 0, 0]]
    feats = torch.randn(2, 4, 3)
    torch.testing.assert_close(reverse_padded(reverse_padded(feats, torch.tensor([4, 1])), torch.tensor([4, 1])), feats)


# ----------------------------------------------------------------------------- the biLM


@pytest.mark.parametrize("encoder", ["char", "word"])
def test_representations_have_the_documented_shapes(encoder):
    model = tiny(encoder)
    words, chars = batch()
    layers = model(words, chars)
    B, T = words.shape
    assert layers.shape == (3, B, T, 16)
    torch.testing.assert_close(layers[0, ..., :8], layers[0, ..., 8:])  # token layer duplicated
    pad = words == VOCAB["<pad>"]
    assert pad.any() and (layers[:, pad] == 0).all()
    fwd, bwd = model.lm_logits(words, chars)
    assert fwd.shape == bwd.shape == (B, T, len(VOCAB))


@pytest.mark.parametrize("encoder", ["char", "word"])
def test_forward_lm_never_sees_the_future_and_backward_never_the_past(encoder):
    model = tiny(encoder, lstm_hidden=12)  # with the LSTMP projection
    words, chars = batch([SENTENCES[3]])  # 8 tokens
    t = 4
    words2, chars2 = words.clone(), chars.clone()
    words2[0, t], chars2[0, t] = VOCAB["ran"], torch.tensor(char_ids("ran", 10))
    _, fwd, bwd, _ = model.states(words, chars)
    _, fwd2, bwd2, _ = model.states(words2, chars2)
    for a, b in zip(fwd, fwd2):  # forward: positions < t unchanged, every position >= t changed
        changed = (a - b).abs().amax(-1)[0] > 1e-6
        assert changed.tolist() == [p >= t for p in range(words.shape[1])]
    for a, b in zip(bwd, bwd2):  # backward: positions > t unchanged, every position <= t changed
        changed = (a - b).abs().amax(-1)[0] > 1e-6
        assert changed.tolist() == [p <= t for p in range(words.shape[1])]


def test_each_prediction_ignores_the_token_it_predicts():
    model = tiny("char")
    words, chars = batch([SENTENCES[3]])
    t = 4
    fwd, bwd = model.lm_logits(words, chars)
    nxt, prv = words.clone(), words.clone()  # change the target of forward[t], then of backward[t]
    nxt_chars, prv_chars = chars.clone(), chars.clone()
    nxt[0, t + 1], nxt_chars[0, t + 1] = VOCAB["ran"], torch.tensor(char_ids("ran", 10))
    prv[0, t - 1], prv_chars[0, t - 1] = VOCAB["ran"], torch.tensor(char_ids("ran", 10))
    torch.testing.assert_close(model.lm_logits(nxt, nxt_chars)[0][0, t], fwd[0, t])
    torch.testing.assert_close(model.lm_logits(prv, prv_chars)[1][0, t], bwd[0, t])


@pytest.mark.parametrize("encoder", ["char", "word"])
def test_padding_does_not_change_real_positions(encoder):
    model = tiny(encoder)
    words, chars = batch()
    layers = model(words, chars)
    for b, sentence in enumerate(SENTENCES):
        alone = model(*batch([sentence]))[:, 0]
        torch.testing.assert_close(layers[:, b, : len(sentence)], alone, atol=1e-5, rtol=1e-5)


def test_loss_is_the_mean_of_both_directions_over_real_pairs():
    model = tiny("char")
    words, chars = batch()
    fwd, bwd = model.lm_logits(words, chars)
    nll_f = nll_b = n = 0
    for b, sentence in enumerate(SENTENCES):
        for t in range(len(sentence) - 1):
            nll_f += F.cross_entropy(fwd[b, t], words[b, t + 1])
            nll_b += F.cross_entropy(bwd[b, t + 1], words[b, t])
            n += 1
    torch.testing.assert_close(bilm_loss(model, (words, chars)), 0.5 * (nll_f + nll_b) / n)
    ppl = direction_perplexity(model, [(words, chars)])
    assert ppl["forward"] == pytest.approx(math.exp(nll_f.item() / n), rel=1e-4)
    assert ppl["backward"] == pytest.approx(math.exp(nll_b.item() / n), rel=1e-4)
    assert 0.5 * len(VOCAB) < ppl["forward"] < 2 * len(VOCAB)  # untrained: near uniform


def test_char_encoder_handles_unseen_words_the_word_encoder_cannot():
    unseen = [["the", "zebra", "sat"], ["the", "okapi", "sat"]]
    for encoder, differ in (("char", True), ("word", False)):
        model = tiny(encoder)
        words, chars = batch(unseen)
        assert (words[:, 1] == VOCAB["<unk>"]).all()
        x = model.token_representation(words, chars)
        assert torch.isfinite(x).all()
        assert (not torch.allclose(x[0, 1], x[1, 1])) == differ


def test_bad_batches_are_clear_errors():
    model = tiny("char")
    words, chars = batch()
    with pytest.raises(ValueError, match="pass chars"):
        model(words)
    with pytest.raises(ValueError, match="chars must have shape"):
        model(words, chars[..., :5])
    left = torch.cat([torch.full((1, 1), VOCAB["<pad>"]), words[:1]], 1)
    with pytest.raises(ValueError, match="right padding"):
        tiny("word")(left)
    with pytest.raises(ValueError, match="nothing to predict"):
        bilm_loss(model, batch([["cat"]]))
    with pytest.raises(ValueError, match="outside the vocabulary"):
        bilm_loss(tiny("word"), torch.tensor([[1, 999]]))
    with pytest.raises(ValueError, match="lstm_hidden"):
        BiLMConfig(vocab_size=10, d_model=8, lstm_hidden=4)
    with pytest.raises(ValueError, match="encoder"):
        BiLMConfig(vocab_size=10, encoder="bytes")
    with pytest.raises(ValueError, match="widest filter"):
        BiLMConfig(vocab_size=10, max_chars=4)


def test_embed_sentences_gives_per_sentence_layers():
    model = tiny("char").train()
    out = embed_sentences(model, VOCAB, SENTENCES, batch_size=3)
    assert [o.shape for o in out] == [(3, len(s), 16) for s in SENTENCES] and model.training
    torch.testing.assert_close(out[1], model.eval()(*batch([SENTENCES[1]]))[:, 0].detach())
    wrapped = embed_sentences(model, VOCAB, SENTENCES[:1], boundaries=True)
    assert wrapped[0].shape == (3, len(SENTENCES[0]), 16)


# ----------------------------------------------------------------------------- training and files


@pytest.mark.parametrize("encoder", ["char", "word"])
def test_learns_a_tiny_repeated_corpus(encoder):
    model = tiny(encoder).train()
    words, chars = batch(SENTENCES * 4)
    data = Batches(words, chars, batch_size=8, seed=0)
    history = fit(model, data, bilm_loss, steps=150, lr=2e-2, log_every=150)
    assert history.train[-1]["loss"] < 0.5 * math.log(len(VOCAB))
    ppl = direction_perplexity(model, [batch()])
    assert ppl["forward"] < 4 and ppl["backward"] < 4  # V = 16 words


@pytest.mark.parametrize("encoder", ["char", "word"])
def test_trains_under_bf16_autocast(encoder):
    """Where this CPU has no bfloat16 LSTM (AVX2-only), fit falls back to float32 with a
    warning (tests/test_train.py checks which); either way training must not crash."""
    model = tiny(encoder).train()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixedPrecisionFallback)
        history = fit(model, [batch()], bilm_loss, steps=2, amp="bf16", device="cpu")
    assert all(math.isfinite(r["loss"]) for r in history.train)
    dtype = torch.bfloat16 if cpu_autocast_works(torch.bfloat16) else torch.float32
    with torch.autocast("cpu", dtype=dtype, enabled=dtype is torch.bfloat16):
        layers = model(*batch())
    mixed = ScalarMix(3)(layers)
    assert mixed.shape == (len(SENTENCES), 8, 16) and torch.isfinite(mixed).all()


# checkpoints: tests/test_checkpoints.py; pretraining: tests/test_pretrain_elmo.py
