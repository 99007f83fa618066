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
"""

from __future__ import annotations

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


class DelayedCopyStream:
    """An endless stream of fresh delayed-copy batches ``(inputs, targets)``, each ``(batch_size, length)``.

    Every batch is new data, so a model trained on it cannot memorise: what it learns is the
    rule. Give :func:`ptm_lib.train.fit` a ``steps=`` budget (the stream has no end).
    """

    def __init__(self, batch_size: int, length: int, delay: int, alphabet: int = 16, seed: int = 0):
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        _check_task(length, delay, alphabet)
        self.batch_size, self.length, self.delay, self.alphabet = batch_size, length, delay, alphabet
        self.generator = torch.Generator().manual_seed(seed)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        while True:
            yield delayed_copy(self.batch_size, self.length, self.delay, self.alphabet, generator=self.generator)


__all__ = ["delayed_targets", "delayed_copy", "DelayedCopyStream"]
