"""A synthetic probe of long-range memory: the *delayed copy* task (chapter 5).

How far back can a sequence model reach? Natural text mixes short and long dependencies,
so chapter 5 isolates one distance at a time. A sequence ``x`` of random symbols from an
alphabet of size ``A`` is read left to right, and at every position the model must output
the symbol it saw exactly ``d`` positions earlier::

    x:       7  2  9  4  4  1  ...
    target:  -  -  7  2  9  4  ...        (delay d = 2; "-" = ignored)

    target[t] = x[t - d]   for t >= d,      target[t] = IGNORE (-100) for t < d

The symbols are independent and uniform, so nothing but memory helps: a model that cannot
see ``x[t - d]`` is right with probability ``1 / A`` (chance), and one that can is right
always. A causal CNN whose receptive field is shorter than ``d + 1`` is therefore at
chance by construction; an RNN must carry ``d`` symbols through its state; a Transformer
attends straight to position ``t - d``. ``IGNORE`` is PyTorch's default
``ignore_index``, so the task's loss (:func:`ptm_lib.long_range.copy_loss`) is a plain
masked cross-entropy.

A fixed delay can be solved by position alone ("fetch ``t - d``"), whatever the symbols are.
The *associative recall* task (:func:`associative_recall`) asks for an earlier token by its
*content* instead. Each sequence has its own random table that gives each of ``K`` keys
one of ``V`` values (drawn independently). It opens with the table: ``K`` *pair* tokens
``(k, v)``, every key once, in random order. Every later position is a *query* token
``k?`` (a key drawn uniformly), and its target is the pair token of that key::

    x:       (2,0) (0,3) (3,3) (1,2)  1?    3?    1?    2?   ...     (K = V = 4)
    target:    -     -     -     -   (1,2) (3,3) (1,2) (2,0) ...     ("-" = ignored)

A pair token has the id ``k * V + v`` and a query the id ``K * V + k``, so the vocabulary
has ``K * V + K`` symbols. The distance from a query back to its key's pair token varies
from query to query (from 1 to ``length - 1``), and the opening's order is random, so no
position or offset tells where the answer is. A model that cannot find the pair token by
its key is right with probability exactly ``1 / V`` (chance): the value is uniform and
independent of everything else in the sequence. The token ``o`` positions back is the
answer with probability at most ``1 / K``, and only if it falls in the opening: only a
pair token can be the answer, and one of the ``K`` has the right key. Hence ``V <= K``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator

import torch

from ..train import IGNORE  # torch.nn.functional.cross_entropy's default ignore_index


def _check_task(length: int, delay: int, alphabet: int) -> None:
    if not isinstance(length, int) or length < 2:
        raise ValueError(f"length must be an integer >= 2, got {length!r}.")
    if not isinstance(delay, int) or delay < 1:
        raise ValueError("delay must be a positive integer (delay 0 would be copying the current token), "
                         f"got {delay!r}.")
    if delay >= length:
        raise ValueError(f"delay={delay} leaves nothing to predict in sequences of length {length}; "
                         "use delay < length (and length several times the delay for a useful signal).")
    if not isinstance(alphabet, int) or alphabet < 2:
        raise ValueError(f"alphabet must be an integer >= 2 symbols, got {alphabet!r}.")


def delayed_targets(inputs: torch.Tensor, delay: int) -> torch.Tensor:
    """``targets[:, t] = inputs[:, t - delay]``, and :data:`IGNORE` for ``t < delay``; ``(n, T)`` long."""
    targets = torch.full_like(inputs, IGNORE)
    targets[:, delay:] = inputs[:, :-delay]
    return targets


def delayed_copy(n: int, length: int, delay: int, alphabet: int = 16, seed: int = 0,
                 generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` random sequences and their delayed-copy targets, both ``(n, length)`` int64 on the CPU.

    Symbols are uniform over ``0 .. alphabet - 1``. The same ``seed`` gives the same data;
    pass a ``generator`` instead to draw a fresh batch each call (it then overrides ``seed``).
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive number of sequences, got {n!r}.")
    _check_task(length, delay, alphabet)
    generator = generator or torch.Generator().manual_seed(seed)
    inputs = torch.randint(0, alphabet, (n, length), generator=generator)
    return inputs, delayed_targets(inputs, delay)


class _FreshBatches(ABC):
    """An endless stream of new ``(inputs, targets)`` batches from a task's ``draw``, seeded once."""

    def __init__(self, batch_size: int, seed: int):
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        self.batch_size = batch_size
        self.generator = torch.Generator().manual_seed(seed)

    @abstractmethod
    def draw(self, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """One batch of the task, drawn with ``generator``."""

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        while True:
            yield self.draw(self.generator)


class DelayedCopyStream(_FreshBatches):
    """An endless stream of fresh delayed-copy batches ``(inputs, targets)``, each ``(batch_size, length)``.

    Every batch is new data, so a model trained on it cannot memorise: what it learns is the
    rule. Give :func:`ptm_lib.train.fit` a ``steps=`` budget (the stream has no end).
    """

    def __init__(self, batch_size: int, length: int, delay: int, alphabet: int = 16, seed: int = 0):
        super().__init__(batch_size, seed)
        _check_task(length, delay, alphabet)
        self.length, self.delay, self.alphabet = length, delay, alphabet

    def draw(self, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return delayed_copy(self.batch_size, self.length, self.delay, self.alphabet, generator=generator)


def _check_recall(length: int, keys: int, values: int) -> None:
    for name, value in (("keys", keys), ("values", values)):
        if not isinstance(value, int) or value < 2:
            raise ValueError(f"{name} must be an integer >= 2 (one would need no lookup), got {value!r}.")
    if values > keys:
        raise ValueError(f"values={values} > keys={keys}: copying the token at a fixed opening position would be "
                         f"right 1/{keys} of the time, above chance (1/{values}); use values <= keys.")
    if not isinstance(length, int) or length < keys + 1:
        raise ValueError(f"length={length!r} leaves no query after the {keys} pair tokens that open a sequence; "
                         f"use an integer length > keys (and several times keys, for many queries).")


def associative_recall(n: int, length: int, keys: int = 8, values: int = 8, seed: int = 0,
                       generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` associative-recall sequences and their targets, both ``(n, length)`` int64 on the CPU.

    Positions ``0 .. keys-1`` hold the pair tokens ``k * values + v`` of a table drawn for
    each sequence (every key once, in random order, each value uniform); every later
    position holds a query token ``keys * values + k`` for a uniform key ``k``, and its
    target is that key's pair token. The opening's targets are :data:`IGNORE`. The
    vocabulary has ``keys * values + keys`` symbols and chance is ``1 / values``. ``seed``
    and ``generator`` work as in :func:`delayed_copy`.
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive number of sequences, got {n!r}.")
    _check_recall(length, keys, values)
    generator = generator or torch.Generator().manual_seed(seed)
    value_of = torch.randint(0, values, (n, keys), generator=generator)  # the table, one per sequence
    order = torch.rand(n, keys, generator=generator).argsort(dim=1)      # every key once, in random order
    asked = torch.randint(0, keys, (n, length - keys), generator=generator)
    inputs = torch.cat([order * values + value_of.gather(1, order), keys * values + asked], dim=1)
    targets = torch.full_like(inputs, IGNORE)
    targets[:, keys:] = asked * values + value_of.gather(1, asked)
    return inputs, targets


def recall_distances(inputs: torch.Tensor, keys: int, values: int) -> torch.Tensor:
    """``(n, T)`` long: at each query token, how many positions back the last pair token of
    its key is; 0 elsewhere (and at a query whose key has no pair token before it)."""
    if inputs.dim() != 2:
        raise ValueError(f"inputs must be (n, length) ids, got shape {tuple(inputs.shape)}.")
    n, length = inputs.shape
    last = torch.full((n, keys), -1, dtype=torch.long)
    distances = torch.zeros_like(inputs)
    rows = torch.arange(n)
    for t in range(length):
        token = inputs[:, t]
        is_query = token >= keys * values
        key = torch.where(is_query, token - keys * values, token // values).clamp(0, keys - 1)
        seen = last[rows, key]
        distances[:, t] = torch.where(is_query & (seen >= 0), t - seen, 0)
        last[rows[~is_query], key[~is_query]] = t
    return distances


class AssociativeRecallStream(_FreshBatches):
    """An endless stream of fresh :func:`associative_recall` batches, each ``(batch_size, length)`` twice."""

    def __init__(self, batch_size: int, length: int, keys: int = 8, values: int = 8, seed: int = 0):
        super().__init__(batch_size, seed)
        _check_recall(length, keys, values)
        self.length, self.keys, self.values = length, keys, values

    def draw(self, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return associative_recall(self.batch_size, self.length, self.keys, self.values, generator=generator)


__all__ = ["delayed_targets", "delayed_copy", "DelayedCopyStream", "associative_recall", "recall_distances",
           "AssociativeRecallStream"]
