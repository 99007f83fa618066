"""Mini-batches of an in-memory data set: the one batcher every chapter trains with.

A data set here is a tensor, a tuple of tensors or a dict of tensors, each with one row
per example: chapter 2's ``(contexts, next words)``, chapter 4's ``(words, chars)`` and
its tagger's ``{"features", "attention_mask", "labels"}``, chapter 6's ``(ids, mask,
labels)``, chapter 7's ``{"ids", "segments", "attention_mask", "labels"}``.
:class:`TensorBatches` cuts it into mini-batches of the same structure, reshuffled on every
pass by a ``torch.Generator`` seeded once (so a seed fixes every pass's order), and can
cut each batch to its longest sequence (:func:`trim`): when lengths vary, most of the
padding of a batch sorted by chance is in columns where *every* row is padding.
:func:`pad_rows` makes the right-padded BERT inputs that such a batcher cuts.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence

import torch


def _rows(data) -> int:
    """The number of examples of ``data``; every tensor must have that many rows."""
    tensors = data.items() if isinstance(data, Mapping) else enumerate(data) if isinstance(data, (tuple, list)) \
        else [(0, data)]
    lengths = {k: len(v) for k, v in tensors}
    if not lengths:
        raise ValueError("the data set has no tensors.")
    if len(set(lengths.values())) != 1:
        raise ValueError(f"every tensor of a task's data must have one row per example, got lengths {lengths}.")
    return next(iter(lengths.values()))


def subset(data, index):
    """The examples ``index`` (a list or tensor of row numbers) of every tensor in ``data``,
    in the same structure (a dict, a tuple or a tensor)."""
    index = torch.as_tensor(index, dtype=torch.long)
    if isinstance(data, Mapping):
        return {k: v[index] for k, v in data.items()}
    if isinstance(data, (tuple, list)):
        return tuple(v[index] for v in data)
    return data[index]


def trim(batch, mask: str | int = "attention_mask"):
    """Drop the trailing positions that are padding in every row of ``batch``.

    ``mask`` names the padding mask among the batch's tensors (a key of a dict batch, a
    position in a tuple), 1 or True at real positions along its last dimension, e.g.
    ``attention_mask`` ``(B, T)`` or GPT's ``mask`` ``(B, S, T)``. Every tensor whose shape
    begins with the mask's shape is cut along that dimension, ids and ``(B, T, ...)``
    features alike; tensors of other shapes (labels per example) are left alone, and so
    is a batch without the mask.
    """
    if isinstance(batch, Mapping):
        if mask not in batch:
            return batch
        m = batch[mask]
    elif isinstance(batch, (tuple, list)) and isinstance(mask, int) and -len(batch) <= mask < len(batch):
        m = batch[mask]
    else:
        return batch
    length = int(m.sum(-1).max()) if m.numel() else 0
    cut = (slice(None),) * (m.dim() - 1) + (slice(None, length),)

    def trimmed(v):
        return v[cut] if v.shape[:m.dim()] == m.shape else v

    if isinstance(batch, Mapping):
        return {k: trimmed(v) for k, v in batch.items()}
    return tuple(trimmed(v) for v in batch)


def _mask_of(data, mask: str | int) -> torch.Tensor:
    """The padding mask named ``mask`` in ``data``; a clear error if it has none."""
    if isinstance(data, Mapping) and mask in data:
        return data[mask]
    if isinstance(data, tuple) and isinstance(mask, int) and -len(data) <= mask < len(data):
        return data[mask]
    raise ValueError(f"bucket > 1 sorts rows by length, read from the padding mask {mask!r}, which the data "
                     "does not have; pass mask= naming it, or bucket=1.")


class TensorBatches:
    """Shuffled mini-batches of a data set of equal-length tensors; ``len()`` batches per pass.

    ``data`` is a tensor, a tuple of tensors or a dict of tensors (one row per example), and
    every batch has the same structure: a tensor, a tuple or a dict of the chosen rows. With
    ``shuffle`` the rows are in a fresh random order on every pass, drawn from a generator
    seeded once with ``seed``; without, in order. With ``trim_padding`` each batch is cut
    to its longest real sequence by :func:`trim`, reading the padding mask named by
    ``mask`` (a dict key, or a position in a tuple); data without that mask is not cut.

    With ``bucket = k > 1`` (and ``shuffle``) rows of similar length share a batch: each pass
    takes ``k`` batches' worth of shuffled rows at a time, sorts them by length (the mask's
    row sums) and cuts them into batches, then shuffles the order of all the batches. Trimmed
    batches then carry little padding, which matters for recurrent models whose cost is per
    time step (AllenNLP's ``BucketIterator`` does the same).
    """

    def __init__(self, data, batch_size: int, shuffle: bool = True, seed: int = 0, trim_padding: bool = True,
                 mask: str | int = "attention_mask", bucket: int = 1):
        self.n = _rows(data)
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}.")
        if bucket < 1:
            raise ValueError(f"bucket must be a positive number of batches, got {bucket}.")
        if isinstance(data, Mapping):
            data = dict(data)
        elif isinstance(data, list):
            data = tuple(data)
        self.data, self.batch_size, self.shuffle = data, batch_size, shuffle
        self.trim_padding, self.mask, self.bucket = trim_padding, mask, bucket
        self.generator = torch.Generator().manual_seed(seed)
        if bucket > 1:
            self.lengths = _mask_of(data, mask).reshape(self.n, -1).sum(1)

    def __len__(self) -> int:
        return math.ceil(self.n / self.batch_size)

    def __iter__(self) -> Iterator:
        order = torch.randperm(self.n, generator=self.generator) if self.shuffle else torch.arange(self.n)
        batches = [order[start:start + self.batch_size] for start in range(0, self.n, self.batch_size)]
        if self.shuffle and self.bucket > 1:
            batches = self._bucketed(order)
        for rows in batches:
            batch = subset(self.data, rows)
            yield trim(batch, self.mask) if self.trim_padding else batch

    def _bucketed(self, order: torch.Tensor) -> list[torch.Tensor]:
        """The rows of ``order`` as batches of similar length, in a shuffled order of batches."""
        window = self.batch_size * self.bucket
        batches = []
        for start in range(0, self.n, window):
            rows = order[start:start + window]
            rows = rows[torch.argsort(self.lengths[rows], stable=True)]
            batches += list(rows.split(self.batch_size))
        shuffled = torch.randperm(len(batches), generator=self.generator)
        return [batches[i] for i in shuffled]


def pad_rows(rows: Sequence[tuple[Sequence[int], Sequence[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    """Stack ``(ids, segments)`` rows into right-padded tensors ``ids``, ``segments`` and
    ``attention_mask`` (1 = real token), all ``(B, T_max)``: a BERT input batch."""
    if not rows:
        raise ValueError("pad_rows got no rows.")
    T = max(len(ids) for ids, _ in rows)
    ids = torch.full((len(rows), T), pad_id, dtype=torch.long)
    segments = torch.zeros((len(rows), T), dtype=torch.long)
    attention = torch.zeros((len(rows), T), dtype=torch.long)
    for r, (row_ids, row_segments) in enumerate(rows):
        ids[r, :len(row_ids)] = torch.tensor(row_ids, dtype=torch.long)
        segments[r, :len(row_segments)] = torch.tensor(row_segments, dtype=torch.long)
        attention[r, :len(row_ids)] = 1
    return {"ids": ids, "segments": segments, "attention_mask": attention}


__all__ = ["TensorBatches", "subset", "trim", "pad_rows"]
