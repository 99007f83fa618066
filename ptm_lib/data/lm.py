"""Language-model data: fixed-context examples from an id stream, and perplexity.

Chapter 2 treats a corpus the way Bengio et al. (2003, section 4) and Mikolov et al. (2011)
do: one continuous stream of word ids in which every sentence ends with ``<eos>``. A
fixed-context model (an n-gram model, the NNLM) predicts each word from the ``context``
words before it, so :func:`context_windows` turns a stream of ``T`` ids into ``T``
examples ``(X[t], y[t]) = (ids[t-context:t], ids[t])``. The first words of the stream
have fewer than ``context`` predecessors; their windows are filled on the left with a
padding id, by convention ``<eos>`` (the word before a text's first sentence is the end of
an imagined previous one), so every token of the stream is scored exactly once.

Perplexity is ``exp`` of the mean negative log-likelihood per predicted token, in nats
(:func:`perplexity_from_nll`). Every LM in the book, count-based or neural, reports it
through that one function.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..train import evaluating, to_device
from .batches import TensorBatches


def _as_long_1d(ids, name: str = "ids") -> torch.Tensor:
    """``ids`` (a list, NumPy array or tensor of integers) as a 1-D int64 tensor."""
    t = torch.as_tensor(np.asarray(ids) if not isinstance(ids, torch.Tensor) else ids)
    if t.dim() != 1:
        raise ValueError(f"{name} must be a 1-D sequence of word ids, got shape {tuple(t.shape)}.")
    if t.dtype.is_floating_point or t.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer word ids, got {t.dtype}; "
                        "encode the words with the vocabulary first.")
    return t.long()


def context_windows(ids, context: int, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every token of ``ids`` with the ``context`` ids before it.

    Returns ``X`` of shape ``(T, context)`` and ``y`` of shape ``(T,)`` (both int64) for a
    stream of ``T`` ids, with ``X[t] = ids[t-context:t]`` and ``y[t] = ids[t]``. Positions
    before the start of the stream are filled with ``pad_id`` (use the ``<eos>`` id). Built
    with ``Tensor.unfold`` (a strided view), then copied once, so there is no Python loop
    over tokens. Example with ``context=2, pad_id=0``::

        ids = [5, 6, 7]  ->  X = [[0, 0], [0, 5], [5, 6]],  y = [5, 6, 7]
    """
    ids = _as_long_1d(ids)
    if context < 1:
        raise ValueError(f"context must be at least 1 word, got {context}.")
    padded = torch.cat([torch.full((context,), int(pad_id), dtype=torch.long), ids])
    X = padded.unfold(0, context, 1)[: len(ids)].contiguous()  # window t = padded[t:t+context]
    return X, ids.clone()


def chunks(ids, length: int) -> torch.Tensor:
    """Cut a stream into training rows for a Transformer LM: ``(N, length + 1)`` int64.

    Row ``i`` is ``ids[i*length : i*length + length + 1]``: ``length`` inputs and, shifted by
    one, their ``length`` next-token targets (the last id of a row is the first of the next,
    so every token but the first is predicted exactly once). A tail shorter than a row is
    dropped. Example with ``length=2``: ``[1, 2, 3, 4, 5, 6] -> [[1, 2, 3], [3, 4, 5]]``.
    """
    ids = _as_long_1d(ids)
    if length < 1:
        raise ValueError(f"length must be at least 1 token, got {length}.")
    if len(ids) < length + 1:
        raise ValueError(f"A stream of {len(ids)} ids is too short for one row of {length + 1}; use a shorter length.")
    return ids.unfold(0, length + 1, length).contiguous()


class Batches(TensorBatches):
    """Mini-batches ``(X[i], y[i])`` of in-memory examples, reshuffled every pass.

    Chapter 2's spelling of :class:`~ptm_lib.data.batches.TensorBatches` for ``(X, y)``
    data: a light replacement for ``DataLoader(TensorDataset(X, y))`` that indexes whole
    batches at once, which matters when an epoch has a million tiny examples. ``len()`` is
    the number of batches per pass, so :func:`ptm_lib.train.fit` can show progress. With
    ``y=None`` the batches are rows of ``X`` alone (e.g. the rows of :func:`chunks`).
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor | None, batch_size: int, shuffle: bool = True, seed: int = 0):
        if y is not None and len(X) != len(y):
            raise ValueError(f"X has {len(X)} examples but y has {len(y)}.")
        super().__init__(X if y is None else (X, y), batch_size, shuffle=shuffle, seed=seed, trim_padding=False)


def perplexity_from_nll(total_nll: float, n_tokens: int) -> float:
    """``exp(total_nll / n_tokens)``: perplexity from a summed negative log-likelihood in nats.

    A model that spreads its probability uniformly over ``V`` words has perplexity ``V``;
    perplexity is the size of a uniform choice that would be as surprising as the model.
    """
    if n_tokens <= 0:
        raise ValueError("Perplexity needs at least one scored token.")
    return math.exp(total_nll / n_tokens)


@torch.no_grad()
def token_log_probs(
    model: torch.nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    batch_size: int = 1024,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """``log p(y[i] | X[i])`` in nats for every example, as a float64 CPU tensor of shape ``(N,)``.

    ``model`` maps ``(batch, context)`` ids to ``(batch, vocab)`` logits. It runs in eval
    mode (no dropout) without gradients; its previous mode is restored afterwards.
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    out = []
    with evaluating(model):
        for start in range(0, len(y), batch_size):
            xb = to_device(X[start : start + batch_size], device)
            yb = to_device(y[start : start + batch_size], device)
            logp = torch.log_softmax(model(xb).float(), dim=-1)
            out.append(logp.gather(1, yb[:, None]).squeeze(1).double().cpu())
    if not out:
        raise ValueError("No examples to score.")
    return torch.cat(out)


def perplexity(
    model: torch.nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    batch_size: int = 1024,
    device: torch.device | str | None = None,
) -> float:
    """Perplexity of a fixed-context torch LM on the examples ``(X, y)`` (see :func:`context_windows`)."""
    logp = token_log_probs(model, X, y, batch_size, device)
    return perplexity_from_nll(-logp.sum().item(), len(logp))


def interpolate_log_probs(log_p_a, log_p_b, weight: float = 0.5) -> np.ndarray:
    """Per-token ``log(weight * p_a + (1 - weight) * p_b)`` of two models, computed stably.

    Bengio et al. (2003, section 4.1) mix the NNLM with an interpolated n-gram model this
    way; the mixture helps because the two models make different errors.
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must lie in [0, 1], got {weight}.")
    a = np.asarray(log_p_a, dtype=np.float64)
    b = np.asarray(log_p_b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"The two models scored different numbers of tokens: {a.shape} vs {b.shape}.")
    with np.errstate(divide="ignore"):
        return np.logaddexp(a + np.log(weight), b + np.log1p(-weight))


__all__ = [
    "context_windows",
    "chunks",
    "Batches",
    "perplexity_from_nll",
    "token_log_probs",
    "perplexity",
    "interpolate_log_probs",
]
