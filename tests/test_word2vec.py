"""word2vec losses, the hand-written SGD step and a tiny training run (ptm_lib.models.word2vec)."""

import math

import numpy as np
import pytest
import torch

from ptm_lib.data.skipgram import cbow_windows, stream, subsample
from ptm_lib.models.word2vec import (
    Word2Vec,
    Word2VecConfig,
    epoch_examples,
    hierarchical_softmax_loss,
    negative_sampling_loss,
    noise_table,
    sgd_step,
    train_word2vec,
)


def log_sigmoid(x):
    return -math.log1p(math.exp(-x))


def test_negative_sampling_loss_closed_form():
    h = torch.tensor([[1.0, 0.0]])
    u_target = torch.tensor([[2.0, 0.0]])
    u_noise = torch.tensor([[[0.0, 1.0], [-1.0, 0.0]]])  # scores 0 and -1
    expected = -(log_sigmoid(2.0) + log_sigmoid(-0.0) + log_sigmoid(1.0))
    assert negative_sampling_loss(h, u_target, u_noise).item() == pytest.approx(expected, rel=1e-6)
    masked = negative_sampling_loss(h, u_target, u_noise, torch.tensor([[True, False]]))
    assert masked.item() == pytest.approx(-(log_sigmoid(2.0) + log_sigmoid(0.0)), rel=1e-6)


def test_hierarchical_softmax_loss_closed_form():
    h = torch.tensor([[1.0, 1.0]])
    nodes = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [5.0, 5.0]]])  # scores 1, 2, (padding)
    codes = torch.tensor([[0, 1, 1]])
    mask = torch.tensor([[True, True, False]])
    expected = -(log_sigmoid(1.0) + log_sigmoid(-2.0))  # bit 0: sigma(s); bit 1: sigma(-s)
    assert hierarchical_softmax_loss(h, nodes, codes, mask).item() == pytest.approx(expected, rel=1e-6)


def test_hs_probabilities_sum_to_one():
    counts = np.array([7, 3, 2, 2, 1])
    model = Word2Vec(Word2VecConfig(5, dim=4, loss="hs"), counts)
    torch.nn.init.normal_(model.W_out)
    h = model.W_in[:1].expand(5, -1)
    words = torch.arange(5)
    nll = [hierarchical_softmax_loss(h[:1], model.W_out[model.points[w]][None], model.codes[w][None],
                                     model.path_mask[w][None]) for w in words]
    assert sum(math.exp(-x.item()) for x in nll) == pytest.approx(1.0, rel=1e-5)


@pytest.mark.parametrize("loss", ["neg", "hs"])
@pytest.mark.parametrize("kind", ["skipgram", "cbow"])
def test_sgd_step_is_a_gradient_step(loss, kind):
    torch.manual_seed(0)
    counts = np.array([50, 30, 20, 10, 8, 5, 3, 2])
    config = Word2VecConfig(8, dim=6, model=kind, loss=loss, negatives=3, max_row_updates=None)
    model = Word2Vec(config, counts)
    torch.nn.init.normal_(model.W_out, std=0.3)
    centres = torch.tensor([1, 2, 3, 2])
    contexts = torch.tensor([[0, 4, 6], [5, 5, 1], [7, 0, 0], [3, 4, 6]])
    mask = torch.tensor([[True, True, True], [True, True, False], [True, False, False], [True, True, True]])
    noise = torch.tensor([[0, 1, 5], [7, 6, 2], [4, 4, 0], [1, 3, 6]])  # includes noise == centre
    reference = Word2Vec(config, counts)
    reference.load_state_dict(model.state_dict())
    reference.W_in.requires_grad_(True)
    reference.W_out.requires_grad_(True)
    lr = 0.1
    losses = sgd_step(model, contexts, mask, centres, lr, noise=noise)
    if kind == "skipgram":  # the update is minus lr times the gradient of the summed pair losses
        total = reference.loss(contexts, mask, centres, noise) * mask.sum()
        total.backward()
        torch.testing.assert_close(model.W_in.data, reference.W_in.detach() - lr * reference.W_in.grad)
    else:  # word2vec.c gives each context word the gradient of the mean times the context size
        h = ((reference.W_in[contexts] * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)).detach()
        h.requires_grad_(True)
        rows, labels, weight = reference.output_rows(centres, noise)
        u = reference.W_out[rows]
        if loss == "hs":
            total = hierarchical_softmax_loss(h, u, 1 - labels, weight) * len(centres)
        else:
            total = negative_sampling_loss(h, u[:, 0], u[:, 1:], weight[:, 1:]) * len(centres)
        total.backward()
        expected = reference.W_in.detach().clone()
        for b in range(len(centres)):
            for j in contexts[b][mask[b]]:
                expected[j] -= lr * h.grad[b]
        torch.testing.assert_close(model.W_in.data, expected)
    assert losses.sum().item() == pytest.approx(total.item(), rel=1e-5)
    torch.testing.assert_close(model.W_out.data, reference.W_out.detach() - lr * reference.W_out.grad)


def test_skipgram_loss_is_the_pair_loss():
    """Skip-gram on windows = the mean over (context -> centre) pairs, each with the window's noise."""
    counts = np.array([5, 4, 3, 2])
    model = Word2Vec(Word2VecConfig(4, dim=3, negatives=2), counts)
    torch.nn.init.normal_(model.W_out)
    contexts, mask = torch.tensor([[1, 2], [0, 3]]), torch.tensor([[True, True], [True, False]])
    centres, noise = torch.tensor([0, 2]), torch.tensor([[3, 1], [1, 1]])
    pairs = [(1, 0, noise[0]), (2, 0, noise[0]), (0, 2, noise[1])]
    expected = sum(-log_sigmoid(float(model.W_in[c] @ model.W_out[t]))
                   - sum(log_sigmoid(-float(model.W_in[c] @ model.W_out[k])) for k in ks) for c, t, ks in pairs) / 3
    assert model.loss(contexts, mask, centres, noise).item() == pytest.approx(expected, rel=1e-5)


def test_noise_table_follows_the_distribution():
    counts = np.array([1, 16, 81, 256])
    table = noise_table(counts, size=10_000).numpy()
    np.testing.assert_allclose(np.bincount(table, minlength=4) / len(table), np.array([1, 8, 27, 64]) / 100, atol=1e-3)


def _toy_corpus(n=2000, seed=0):
    """'cat' and 'dog' share every context; so do 'car' and 'bus'; the two groups never meet."""
    rng = np.random.default_rng(seed)
    words = ["the", "a", "cat", "dog", "car", "bus", "eats", "sleeps", "fish", "drives", "stops", "road", "city"]
    stoi = {w: i for i, w in enumerate(words)}
    sentences = []
    for _ in range(n):
        if rng.random() < 0.5:
            s = [rng.choice(["the", "a"]), rng.choice(["cat", "dog"]), rng.choice(["eats", "sleeps"]), "fish"]
        else:
            s = [rng.choice(["the", "a"]), rng.choice(["car", "bus"]), rng.choice(["drives", "stops"]),
                 rng.choice(["road", "city"])]
        sentences.append(np.array([stoi[w] for w in s]))
    ids, sent = stream(sentences)
    return words, stoi, ids, sent, np.bincount(ids, minlength=len(words))


@pytest.mark.parametrize("kind,loss", [("skipgram", "neg"), ("skipgram", "hs"), ("cbow", "neg"), ("cbow", "hs")])
def test_shared_contexts_make_similar_vectors(kind, loss):
    words, stoi, ids, sent, counts = _toy_corpus()
    config = Word2VecConfig(len(words), dim=16, model=kind, loss=loss, window=2, sample=0, batch_size=256)
    model = Word2Vec(config, counts)
    history = train_word2vec(model, ids, sent, epochs=5, log_every=5)
    losses = [r["loss"] for r in history.train]
    assert losses[-1] < losses[0]
    v = model.vectors()
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    sim = lambda a, b: float(v[stoi[a]] @ v[stoi[b]])
    assert sim("cat", "dog") > sim("cat", "car") + 0.15
    assert sim("car", "bus") > sim("bus", "fish") + 0.15
    assert history.words == pytest.approx(5 * len(ids))


def test_epoch_windows_come_in_text_order_or_shuffled():
    words, _, ids, sent, counts = _toy_corpus(300)
    text_order = Word2Vec(Word2VecConfig(len(words), dim=4, sample=0, shuffle=False), counts)
    contexts, mask, centres = epoch_examples(text_order, ids, sent, np.random.default_rng(0))
    rng = np.random.default_rng(0)
    expected = cbow_windows(*subsample(ids, sent, np.ones(len(words)), rng), 5, rng)  # sample=0 drops nothing
    for got, want in zip((contexts, mask, centres), expected):
        np.testing.assert_array_equal(got.numpy(), want)
    shuffled = Word2Vec(Word2VecConfig(len(words), dim=4, sample=0, shuffle=True), counts)
    s_contexts, s_mask, s_centres = epoch_examples(shuffled, ids, sent, np.random.default_rng(0))
    assert not torch.equal(s_centres, centres)
    rows = lambda *xs: sorted(map(tuple, np.column_stack([x.numpy().reshape(len(x), -1) for x in xs]).tolist()))
    assert rows(s_contexts, s_mask, s_centres) == rows(contexts, mask, centres)  # the same windows, reordered


def test_time_budget_stops_training():
    words, _, ids, sent, counts = _toy_corpus(500)
    model = Word2Vec(Word2VecConfig(len(words), dim=8, batch_size=64), counts)
    history = train_word2vec(model, ids, sent, budget_s=0.3)
    assert 0.3 <= history.seconds < 2.0


def test_bad_config():
    with pytest.raises(ValueError, match="model"):
        Word2VecConfig(10, model="glove")
    with pytest.raises(ValueError, match="loss"):
        Word2VecConfig(10, loss="softmax")
    with pytest.raises(ValueError, match="counts"):
        Word2Vec(Word2VecConfig(3), np.array([1, 2]))
    with pytest.raises(ValueError, match="exactly one"):
        train_word2vec(Word2Vec(Word2VecConfig(2), np.array([1, 1])), np.array([0, 1]))
