import math

import pytest
import torch

from ptm_lib.data.lm import Batches, context_windows, perplexity
from ptm_lib.models.nnlm import NNLM, NNLMConfig, nnlm_loss
from ptm_lib.train import fit

V, N_CTX, EMB, HID = 20, 3, 8, 16


@pytest.fixture
def model():
    torch.manual_seed(0)
    return NNLM(NNLMConfig(vocab_size=V, context=N_CTX, embed_dim=EMB, hidden=HID))


def test_shapes_and_shared_embedding(model):
    ids = torch.randint(0, V, (5, N_CTX))
    assert model(ids).shape == (5, V)
    assert isinstance(model.C, torch.nn.Embedding) and model.C.weight.shape == (V, EMB)
    assert model.features(ids).shape == (5, N_CTX * EMB)
    # one matrix C for every position: the same word gives the same slice wherever it stands
    x = model.features(torch.tensor([[7, 7, 7]]))
    assert torch.equal(x[0, :EMB], x[0, EMB : 2 * EMB]) and torch.equal(x[0, :EMB], x[0, 2 * EMB :])
    assert model.W is None


def test_wrong_context_length_is_a_clear_error(model):
    with pytest.raises(ValueError, match="exactly 3 previous words"):
        model(torch.zeros(2, 4, dtype=torch.long))


def test_direct_connections_follow_eq_1():
    torch.manual_seed(0)
    model = NNLM(NNLMConfig(V, N_CTX, EMB, HID, direct=True))
    assert model.W.weight.shape == (V, N_CTX * EMB) and model.W.bias is None
    ids = torch.randint(0, V, (4, N_CTX))
    x = model.C(ids).reshape(4, -1)
    # y = b + W x + U tanh(d + H x)
    expected = model.U.bias + x @ model.W.weight.T + torch.tanh(model.H.bias + x @ model.H.weight.T) @ model.U.weight.T
    assert torch.allclose(model(ids), expected, atol=1e-5)
    with torch.no_grad():
        without = model(ids) - model.W(x)
        model.W.weight.zero_()
    assert torch.allclose(model(ids), without, atol=1e-6)
    assert not torch.allclose(without, expected, atol=1e-3), "the direct term must change the output"


def test_config_checks():
    with pytest.raises(ValueError, match="direct=True"):
        NNLMConfig(V, hidden=0)
    linear_only = NNLM(NNLMConfig(V, N_CTX, EMB, hidden=0, direct=True))
    assert linear_only(torch.zeros(2, N_CTX, dtype=torch.long)).shape == (2, V)
    with pytest.raises(ValueError, match="dropout"):
        NNLMConfig(V, dropout=1.0)


def test_next_word_distribution(model):
    model.train()
    p = model.next_word_distribution([1, 2, 3, 4])
    assert p.shape == (V,) and p.sum().item() == pytest.approx(1.0, abs=1e-5)
    assert model.training, "the previous mode is restored"
    assert torch.allclose(p, torch.softmax(model.eval()(torch.tensor([[2, 3, 4]])), -1)[0])
    assert torch.allclose(model.next_word_distribution([4], pad_id=0), model.next_word_distribution([0, 0, 4]))
    assert model.next_word_distribution(torch.tensor([[1, 2, 3], [4, 5, 6]])).shape == (2, V)
    with pytest.raises(ValueError, match="pad_id"):
        model.next_word_distribution([4])


def test_memorises_a_tiny_corpus(model):
    torch.manual_seed(0)
    ids = torch.randint(1, V, (80,))  # random words: each 3-word context is (almost surely) unique
    X, y = context_windows(ids, N_CTX, pad_id=0)
    assert perplexity(model, X, y) > V / 2  # untrained: close to uniform
    history = fit(model, Batches(X, y, batch_size=16, seed=0), nnlm_loss, steps=400, lr=1e-2,
                  evaluate=lambda m: {"ppl": perplexity(m, X, y)}, eval_every=100)
    assert history.last("ppl") < 1.5
    assert math.exp(history.last("loss", "train")) < 1.5


def test_trains_under_bf16_autocast(model):
    X, y = context_windows(torch.randint(1, V, (40,)), N_CTX, pad_id=0)
    history = fit(model, Batches(X, y, 8), nnlm_loss, steps=3, amp="bf16", device="cpu")
    assert all(math.isfinite(r["loss"]) for r in history.train)


@pytest.fixture
def sharp_model():
    """An untrained NNLM with large weights, so that its predictions depend on every context word."""
    torch.manual_seed(1)
    model = NNLM(NNLMConfig(vocab_size=V, context=N_CTX, embed_dim=EMB, hidden=HID))
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(8.0)
    return model


def test_generate_is_reproducible_and_stays_in_the_vocabulary(sharp_model):
    prompt = [1, 2, 3, 4]
    a = sharp_model.generate(prompt, 30, generator=torch.Generator().manual_seed(0))
    b = sharp_model.generate(prompt, 30, generator=torch.Generator().manual_seed(0))
    c = sharp_model.generate(prompt, 30, generator=torch.Generator().manual_seed(1))
    assert a.dtype == torch.long and a.shape == (34,) and a[:4].tolist() == prompt
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert 0 <= a.min() and a.max() < V


def test_greedy_generate_follows_the_argmax_of_the_sliding_window(sharp_model):
    out = sharp_model.generate([5, 6, 7, 8], 12, top_k=1).tolist()
    for t in range(4, len(out)):
        assert out[t] == sharp_model.next_word_distribution(out[t - N_CTX : t]).argmax().item()
    # a temperature near zero is greedy too: the temperature divides the logits
    assert sharp_model.generate([5, 6, 7, 8], 12, temperature=1e-4,
                                generator=torch.Generator().manual_seed(0)).tolist() == out
    # only the last N_CTX words matter: a different word before the window changes nothing
    assert sharp_model.generate([9, 6, 7, 8], 12, top_k=1).tolist()[1:] == out[1:]
    assert sharp_model.generate([5, 0, 1, 2], 12, top_k=1).tolist()[4:] != out[4:], "the window's words matter"


def test_generate_samples_from_next_word_distribution():
    torch.manual_seed(2)
    model = NNLM(NNLMConfig(vocab_size=V, context=N_CTX, embed_dim=EMB, hidden=HID))  # a flatter model
    g = torch.Generator().manual_seed(0)
    draws = torch.tensor([model.generate([1, 2, 3], 1, generator=g)[-1].item() for _ in range(3000)])
    freq = torch.bincount(draws, minlength=V).float() / len(draws)
    assert torch.allclose(freq, model.next_word_distribution([1, 2, 3]), atol=0.025)


def test_generate_bad_input(sharp_model):
    sharp_model.train()
    with pytest.raises(ValueError, match="prompt has 2 words but the model reads 3.*pad_id"):
        sharp_model.generate([1, 2], 5)
    padded = sharp_model.generate([2], 5, top_k=1, pad_id=0)
    assert padded.shape == (6,) and padded[0] == 2
    assert torch.equal(padded, sharp_model.generate([0, 0, 2], 5, top_k=1)[2:])
    assert sharp_model.training, "the previous mode is restored"
    with pytest.raises(ValueError, match="prompt is empty"):
        sharp_model.generate([], 5, pad_id=0)
    with pytest.raises(ValueError, match="outside"):
        sharp_model.generate([1, 2, V], 5)
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        sharp_model.generate([1, 2, 3], 5, temperature=0)
    with pytest.raises(ValueError, match="1-D"):
        sharp_model.generate(torch.tensor([[1, 2, 3]]), 5)
