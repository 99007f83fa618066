"""GloVe: co-occurrence counts, weighting, loss and training (ptm_lib.models.glove)."""

import numpy as np
import pytest
import torch

from ptm_lib.models.glove import GloVe, GloVeConfig, cooccurrence, train_glove, weighting


def test_weighting_values():
    x = np.array([0.0, 1.0, 50.0, 100.0, 1000.0])
    expected = [0.0, 0.01 ** 0.75, 0.5 ** 0.75, 1.0, 1.0]  # 0.0316, 0.5946
    np.testing.assert_allclose(weighting(x), expected)
    torch.testing.assert_close(weighting(torch.tensor(x, dtype=torch.float32)),
                               torch.tensor(expected, dtype=torch.float32))
    assert weighting(np.array([10.0]), x_max=10, alpha=0.5)[0] == 1.0


def test_cooccurrence_by_hand():
    # sentence 1: a b a c   sentence 2: b c      (a=0, b=1, c=2), window 2
    ids, sent = np.array([0, 1, 0, 2, 1, 2]), np.array([0, 0, 0, 0, 1, 1])
    x = cooccurrence(ids, sent, vocab_size=3, window=2).toarray()
    # distance 1: (a,b) (b,a) (a,c) | (b,c);  distance 2: (a,a) (b,c)
    # X[a,b] = 1 + 1 = 2; X[a,a] = 1/2 + 1/2 (both directions); X[a,c] = 1
    # X[b,c] = 1/2 (sentence 1, distance 2) + 1 (sentence 2); never across the sentences
    expected = np.array([[1.0, 2.0, 1.0],
                         [2.0, 0.0, 1.5],
                         [1.0, 1.5, 0.0]])
    np.testing.assert_allclose(x, expected)
    np.testing.assert_allclose(x, x.T)


def test_loss_closed_form():
    model = GloVe(GloVeConfig(3, dim=2))
    with torch.no_grad():
        model.W.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
        model.W_ctx.weight.copy_(torch.tensor([[2.0, 0.0], [1.0, 1.0], [0.0, 0.0]]))
        model.b.weight.copy_(torch.tensor([[0.5], [0.0], [0.0]]))
        model.b_ctx.weight.copy_(torch.tensor([[0.0], [-1.0], [0.0]]))
    i, j, x = torch.tensor([0, 2]), torch.tensor([1, 0]), torch.tensor([50.0, 200.0])
    # pair (0,1): 1 + 0.5 - 1 = 0.5, f = 0.5^0.75;  pair (2,0): 2 + 0 + 0 = 2, f = 1
    expected = (0.5 ** 0.75 * (0.5 - np.log(50)) ** 2 + (2 - np.log(200)) ** 2) / 2
    assert model.loss(i, j, x).item() == pytest.approx(expected, rel=1e-5)


def test_training_reduces_the_loss_and_vectors_are_w_plus_w_tilde():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 30, size=3000)
    x = cooccurrence(ids, None, vocab_size=30, window=3)
    model = GloVe(GloVeConfig(30, dim=8, batch_size=128), seed=0)
    coo = x.tocoo()
    full = lambda: model.loss(torch.tensor(coo.row, dtype=torch.long), torch.tensor(coo.col, dtype=torch.long),
                              torch.tensor(coo.data, dtype=torch.float32)).item()
    before = full()
    history = train_glove(model, x, epochs=10, log_every=2)
    assert full() < 0.5 * before
    assert history.epochs == pytest.approx(10)
    expected = torch.nn.functional.normalize(model.W.weight + model.W_ctx.weight, dim=1)
    np.testing.assert_allclose(model.vectors(), expected.detach().numpy(), rtol=1e-6)


def test_empty_matrix_is_an_error():
    x = cooccurrence(np.array([1]), None, vocab_size=3, window=2)
    with pytest.raises(ValueError, match="empty"):
        train_glove(GloVe(GloVeConfig(3, dim=2)), x, epochs=1)


def test_training_is_silent(recwarn):
    """A warning would show as stderr in the book's saved chapter 3."""
    import scipy.sparse as sp

    x = sp.csr_matrix(np.array([[0, 2.0, 1.0], [2.0, 0, 3.0], [1.0, 3.0, 0]]))
    train_glove(GloVe(GloVeConfig(3, dim=4, batch_size=2)), x, epochs=2)
    assert not [w for w in recwarn if "sparse" in str(w.message).lower()]
