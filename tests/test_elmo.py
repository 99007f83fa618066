import math
import warnings

import pytest
import torch
import torch.nn.functional as F

from ptm_lib.data.lm import Batches
from ptm_lib.models.elmo import (
    BOW, EOW, BiLM, BiLMConfig, ScalarMix, bilm_loss, build_vocab, char_ids, corpus_windows,
    direction_perplexity, embed_sentences, encode_batch, load_elmo, reverse_padded, save_elmo,
)
from ptm_lib.pretrain_elmo import pretrain_elmo
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


# ----------------------------------------------------------------------------- inputs


def test_char_ids_marks_bytes_cut_and_specials():
    assert char_ids("ab", 6) == [BOW, ord("a") + 1, ord("b") + 1, EOW, 0, 0]
    assert char_ids("abcdefgh", 5) == [BOW, ord("a") + 1, ord("b") + 1, ord("c") + 1, EOW]  # cut
    assert len(char_ids("é", 6)) == 6 and char_ids("é", 6)[1:3] == [0xC3 + 1, 0xA9 + 1]  # UTF-8 bytes
    assert char_ids("<s>", 5)[:3] == [BOW, 259, EOW] and char_ids("</s>", 5)[:3] == [BOW, 260, EOW]
    assert char_ids("<pad>", 5) == [0] * 5
    with pytest.raises(ValueError, match="at least 3"):
        char_ids("a", 2)


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


def test_reverse_padded_reverses_within_each_length_and_is_an_involution():
    x = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0]])
    out = reverse_padded(x, torch.tensor([3, 2]))
    assert out.tolist() == [[3, 2, 1, 0], [5, 4, 0, 0]]
    feats = torch.randn(2, 4, 3)
    torch.testing.assert_close(reverse_padded(reverse_padded(feats, torch.tensor([4, 1])), torch.tensor([4, 1])), feats)


def test_corpus_windows_match_encode_batch():
    words, chars = corpus_windows(SENTENCES, VOCAB, length=5, max_chars=10)
    stream = [w for s in SENTENCES for w in s]
    assert words.shape == (len(stream) // 5, 5) and chars.shape == (len(stream) // 5, 5, 10)
    ref_words, ref_chars = batch([stream[:5], stream[5:10]])
    assert torch.equal(words[:2], ref_words) and torch.equal(chars[:2].long(), ref_chars)
    with pytest.raises(ValueError, match="fewer than one window"):
        corpus_windows([["a"]], VOCAB, length=5)


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


def test_checkpoint_round_trip(tmp_path):
    model = tiny("char", lstm_hidden=12)
    path = save_elmo(tmp_path / "ckpt" / "elmo.pt", model, VOCAB, {"steps": 3, "torch": torch.__version__})
    loaded, vocab, meta = load_elmo(path)
    assert meta == {"steps": 3, "torch": str(torch.__version__)} and not loaded.training
    assert vocab.itos == VOCAB.itos and (vocab.counts == VOCAB.counts).all() and vocab.min_count == 1
    assert loaded.config == model.config
    for name, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], value.half().float())
    words, chars = batch()
    with torch.no_grad():
        torch.testing.assert_close(loaded(words, chars), model(words, chars), atol=2e-2, rtol=0)
    with pytest.raises(FileNotFoundError, match="pretrain_elmo"):
        load_elmo(tmp_path / "none.pt")
    torch.save({"format": "ptm-lib checkpoint 1", "kind": "gpt"}, tmp_path / "gpt.pt")
    with pytest.raises(ValueError, match="not a ptm-lib ELMo checkpoint"):
        load_elmo(tmp_path / "gpt.pt")


def test_pretrain_entry_point_on_a_tiny_corpus():
    config = BiLMConfig(vocab_size=len(VOCAB), d_model=8, max_chars=10, char_dim=4, filters=FILTERS)
    model, history = pretrain_elmo(config, VOCAB, steps=3, batch_size=2, seq_len=4, device="cpu",
                                   documents=SENTENCES, held_out=SENTENCES[:2])
    assert isinstance(model, BiLM) and {"forward", "backward"} <= set(history.val[-1])
    with pytest.raises(ValueError, match="vocab_size"):
        pretrain_elmo(BiLMConfig(vocab_size=5), VOCAB, steps=1, documents=SENTENCES)
