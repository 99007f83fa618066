import pytest
import torch

from ptm_lib.models.vision import LAYER_NAMES, CNNConfig, SmallCNN, freeze, transfer


@pytest.fixture
def source():
    torch.manual_seed(0)
    return SmallCNN(CNNConfig(channels=(4, 8, 8), hidden=16, n_classes=10))


def test_shapes_at_every_depth(source):
    x = torch.rand(3, 1, 28, 28)
    shapes = [tuple(source.features(x, d).shape) for d in range(len(LAYER_NAMES) + 1)]
    assert shapes == [(3, 1, 28, 28), (3, 4, 14, 14), (3, 8, 7, 7), (3, 8, 3, 3), (3, 16)]
    assert source(x).shape == (3, 10)
    with pytest.raises(ValueError, match="depth must be between 0 and 4"):
        source.features(x, 5)


@pytest.mark.parametrize("k", range(len(LAYER_NAMES) + 1))
def test_transfer_copies_first_k_layers(source, k):
    target = transfer(source, k, n_classes=5, frozen=True, seed=1)
    assert target.head.out_features == 5
    for i, (s, t) in enumerate(zip(source.layers, target.layers)):
        same = all(torch.equal(a, b) for a, b in zip(s.parameters(), t.parameters()))
        assert same == (i < k), f"layer {i} copied={same}, expected {i < k}"
        assert all(p.requires_grad == (i >= k) for p in t.parameters())
    assert all(p.requires_grad for p in target.head.parameters())


def test_transfer_copies_not_shares(source):
    target = transfer(source, 4, n_classes=10, frozen=False)
    with torch.no_grad():
        target.layers[0][0].weight.add_(1.0)
    assert not torch.equal(target.layers[0][0].weight, source.layers[0][0].weight)


def test_fresh_layers_are_seeded(source):
    a, b = transfer(source, 2, 10, True, seed=3), transfer(source, 2, 10, True, seed=3)
    assert torch.equal(a.layers[3][1].weight, b.layers[3][1].weight)
    assert not torch.equal(a.layers[3][1].weight, transfer(source, 2, 10, True, seed=4).layers[3][1].weight)


def test_transfer_rejects_bad_k(source):
    with pytest.raises(ValueError, match="k must be between 0 and 4"):
        transfer(source, 5, 10, True)


def test_freeze_stops_gradients(source):
    freeze(source.layers[0])
    source(torch.rand(2, 1, 28, 28)).sum().backward()
    assert source.layers[0][0].weight.grad is None
    assert source.layers[1][0].weight.grad is not None
