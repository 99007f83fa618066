"""Image data for chapter 1: MNIST (the big labelled source task) and Animal-MNIST
(the target task with few labels), both as float tensors of shape ``(n, 1, 28, 28)``
in ``[0, 1]``, white shapes on black, so one network reads both.
"""

from __future__ import annotations

import gzip
import pickle

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from . import sources

ANIMAL_CLASSES = ("bear", "bird", "cat", "cow", "dog", "elephant", "giraffe", "horse", "sheep", "zebra")
DIGIT_CLASSES = tuple(str(d) for d in range(10))


def _unpickle(path):
    with gzip.open(path, "rb") as f:
        return pickle.load(f, encoding="latin1")


def _images(x: np.ndarray, scale: float) -> torch.Tensor:
    return torch.from_numpy(np.asarray(x, dtype=np.float32).reshape(-1, 1, 28, 28) / scale)


def load_mnist() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """MNIST as ``{"train", "valid", "test"}`` -> ``(images, labels)``: 50k / 10k / 10k."""
    splits = _unpickle(sources.path("mnist", "pickle"))
    return {
        name: (_images(x, 1.0), torch.from_numpy(np.asarray(y, dtype=np.int64)))
        for name, (x, y) in zip(("train", "valid", "test"), splits)
    }


def load_animal_mnist() -> tuple[torch.Tensor, torch.Tensor]:
    """All 10,000 Animal-MNIST silhouettes and labels (index into :data:`ANIMAL_CLASSES`)."""
    x = _unpickle(sources.path("animal_mnist", "images"))
    y = _unpickle(sources.path("animal_mnist", "labels"))
    return _images(x, 255.0), torch.from_numpy(np.asarray(y, dtype=np.int64))


def per_class_indices(
    labels: torch.Tensor, n_per_class: int, generator: torch.Generator, exclude: torch.Tensor | None = None
) -> torch.Tensor:
    """Draw ``n_per_class`` random indices of each class, never from ``exclude``.

    This is how the chapter makes its small labelled budgets (5, 20, 100 per class) and
    its held-out test set, so every class is equally represented.
    """
    allowed = torch.ones(len(labels), dtype=torch.bool)
    if exclude is not None:
        allowed[exclude] = False
    chosen = []
    for c in labels.unique().tolist():
        pool = torch.nonzero(allowed & (labels == c)).flatten()
        if len(pool) < n_per_class:
            raise ValueError(f"Class {c} has only {len(pool)} examples left; asked for {n_per_class}.")
        chosen.append(pool[torch.randperm(len(pool), generator=generator)[:n_per_class]])
    return torch.cat(chosen)


def loader(
    x: torch.Tensor, y: torch.Tensor, batch_size: int = 128, shuffle: bool = False, seed: int = 0
) -> DataLoader:
    """A DataLoader over in-memory tensors; shuffling is seeded so runs repeat exactly."""
    generator = torch.Generator().manual_seed(seed) if shuffle else None
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle, generator=generator)


__all__ = ["ANIMAL_CLASSES", "DIGIT_CLASSES", "load_mnist", "load_animal_mnist", "per_class_indices", "loader"]
