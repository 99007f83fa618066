"""Chapter 5's long-range experiment: the delayed-copy loss and accuracy, and accuracy against distance.

For each delay ``d`` a *fresh* model is trained on endless fresh batches of the
delayed-copy task (:mod:`ptm_lib.data.synthetic`: ``target[t] = x[t - d]``) through the
book's one training loop, :func:`ptm_lib.train.fit`, and then scored on a held-out set.
Plotting the accuracy against ``d`` for models of equal parameter count (an LSTM, a causal
CNN and GPT, see :mod:`ptm_lib.models.sequence`) shows how far back each architecture can
reach *within a given training budget*: a CNN cannot beat chance once ``d`` exceeds its
receptive field, an LSTM can in principle but must learn to keep ``d`` symbols in its
state, and self-attention can look ``d`` positions back in one step.

A fixed delay is solved by position alone, so the chapter also measures *content*-based
range: :func:`recall_accuracy` trains one model on the associative-recall task
(:func:`ptm_lib.data.synthetic.associative_recall`: at each query, output the earlier token
that holds the queried key and its value) and scores it separately for each band of
distances back to that token (:func:`accuracy_by_distance`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F

from .data.batches import TensorBatches
from .data.synthetic import (
    AssociativeRecallStream,
    DelayedCopyStream,
    associative_recall,
    delayed_copy,
    recall_distances,
)
from .evaluate import accuracy
from .train import IGNORE, fit

# Settings for chapter 5 (use with ``runtime.preset(**LONG_RANGE_PRESETS)``). GPT is
# 2 layers x 4 heads of width ``d_model`` with learned positions; the LSTM (1 layer) and the
# CNN (4 layers, kernel 3, receptive field 9) are size-matched to it (about 60k parameters
# on the CPU); ``lr`` is per architecture, each the best of 1e-3, 3e-3, 1e-2 in short runs.
# The associative-recall run trains each model once (``recall_steps`` batches of the same
# size and length) with ``recall_keys`` keys and as many values, scored per band of distances
# (``recall_bins``, cut at the CNNs' receptive fields of 9 and 31).
LONG_RANGE_PRESETS = {
    # 2-core CPU, one thread: 45-60 s for the three architectures (6 delays each); the recall
    # run about 50 s for the four models
    "cpu": dict(length=64, batch_size=16, steps=150, delays=(1, 2, 4, 8, 16, 32), alphabet=16,
                d_model=48, lr={"lstm": 1e-2, "conv": 3e-3, "gpt": 3e-3},
                recall_keys=8, recall_steps=250, recall_bins=((1, 8), (9, 16), (17, 30), (31, 47), (48, 63))),
    # 4x longer sequences, delays up to 128, 13x the steps of a 4x batch (not yet timed on a GPU)
    "gpu": dict(length=256, batch_size=64, steps=2000, delays=(1, 2, 4, 8, 16, 32, 64, 128), alphabet=16,
                d_model=64, lr={"lstm": 3e-3, "conv": 3e-3, "gpt": 3e-3},
                recall_keys=8, recall_steps=2000,
                recall_bins=((1, 8), (9, 16), (17, 30), (31, 63), (64, 127), (128, 255))),
}


def _check_vocabulary(model: torch.nn.Module, alphabet: int) -> None:
    """The model's (first) token embedding must have a row for every symbol of the task."""
    embedding = next((m for m in model.modules() if isinstance(m, torch.nn.Embedding)), None)
    if embedding is not None and embedding.num_embeddings < alphabet:
        raise ValueError(f"The model embeds {embedding.num_embeddings} symbols but the task uses alphabet={alphabet}; "
                         "build it with vocab_size >= alphabet (or lower alphabet).")


def copy_loss(model: torch.nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Mean cross-entropy of ``model(inputs)`` ``(B, T, V)`` over the positions whose target is not ignored."""
    inputs, targets = batch
    logits = model(inputs)
    if logits.shape[-1] <= int(targets.max()):
        raise ValueError(f"The model scores {logits.shape[-1]} symbols but the targets use up to "
                         f"{int(targets.max())}; build it with vocab_size >= the task's alphabet.")
    return F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), ignore_index=IGNORE)


def copy_accuracy(model: torch.nn.Module, inputs: torch.Tensor, targets: torch.Tensor, batch_size: int = 256) -> float:
    """The share of the scored positions (``targets != IGNORE``) where ``model`` ranks the
    target first, on a whole set in batches (:func:`ptm_lib.evaluate.accuracy`: eval mode,
    the previous mode restored). Chance level is ``1 / alphabet``.
    """
    return accuracy(model, TensorBatches((inputs, targets), batch_size, shuffle=False), dtype=torch.float64)


def _train_fresh(make_model: Callable[[], torch.nn.Module], stream: Iterable, alphabet: int, steps: int, lr: float,
                 seed: int, device, schedule: str, amp: str, desc: str) -> torch.nn.Module:
    """``make_model()`` built after ``torch.manual_seed(seed)``, checked against ``alphabet``
    and trained on ``steps`` batches of ``stream`` with :func:`copy_loss`."""
    if steps < 1:
        raise ValueError(f"steps must be positive, got {steps}.")
    torch.manual_seed(seed)
    model = make_model().to(device)
    _check_vocabulary(model, alphabet)
    fit(model, stream, copy_loss, steps=steps, lr=lr, schedule=schedule, amp=amp, device=device, desc=desc)
    return model


def long_range_accuracy(
    make_model: Callable[[], torch.nn.Module],
    delays: Iterable[int],
    steps: int,
    batch_size: int,
    length: int,
    lr: float = 3e-3,
    seed: int = 0,
    device: torch.device | str = "cpu",
    alphabet: int = 16,
    n_eval: int = 256,
    schedule: str = "constant",
    amp: str = "auto",
) -> dict[int, float]:
    """Train one model per delay and return ``{delay: held-out accuracy}`` (chance is ``1 / alphabet``).

    ``make_model()`` builds a fresh causal LM whose vocabulary is at least ``alphabet``
    (``(B, length)`` ids -> ``(B, length, V)`` logits); it is called after
    ``torch.manual_seed(seed)``, so every delay starts from the same initial weights.
    Training sees ``steps`` batches of ``batch_size`` fresh sequences of ``length`` symbols
    (seeded by ``seed``), with AdamW at learning rate ``lr``; the ``n_eval`` held-out
    sequences come from a different seed.
    """
    delays = list(delays)
    if not delays:
        raise ValueError("Give at least one delay, e.g. delays=[1, 4, 16].")
    results = {}
    for delay in delays:
        stream = DelayedCopyStream(batch_size, length, delay, alphabet, seed=seed)  # checks delay < length
        inputs, targets = delayed_copy(n_eval, length, delay, alphabet, seed=seed + 1_000_003)
        model = _train_fresh(make_model, stream, alphabet, steps, lr, seed, device, schedule, amp, f"delay {delay}")
        results[delay] = copy_accuracy(model, inputs, targets)
    return results


def accuracy_by_distance(model: torch.nn.Module, inputs: torch.Tensor, targets: torch.Tensor,
                         distances: torch.Tensor, bins: Iterable[tuple[int, int]],
                         batch_size: int = 256) -> dict[str, float]:
    """``{"lo-hi": accuracy}``: :func:`copy_accuracy` on the scored positions whose distance
    (``distances``, ``(n, T)`` like ``targets``) lies in ``[lo, hi]``, for each bin."""
    if distances.shape != targets.shape:
        raise ValueError(f"distances {tuple(distances.shape)} must have the targets' shape {tuple(targets.shape)}.")
    results = {}
    for lo, hi in bins:
        if not 0 < lo <= hi:
            raise ValueError(f"a bin is (lo, hi) with 0 < lo <= hi, got {(lo, hi)}.")
        in_bin = (targets != IGNORE) & (distances >= lo) & (distances <= hi)
        if not in_bin.any():
            raise ValueError(f"no scored position lies {lo}-{hi} positions back; widen the bin or score more "
                             "sequences.")
        results[f"{lo}-{hi}"] = copy_accuracy(model, inputs, targets.masked_fill(~in_bin, IGNORE), batch_size)
    return results


def recall_accuracy(
    make_model: Callable[[], torch.nn.Module],
    bins: Iterable[tuple[int, int]],
    steps: int,
    batch_size: int,
    length: int,
    keys: int = 8,
    values: int = 8,
    lr: float = 3e-3,
    seed: int = 0,
    device: torch.device | str = "cpu",
    n_eval: int = 512,
    schedule: str = "constant",
    amp: str = "auto",
) -> dict[str, float]:
    """Train one model on associative recall and return ``{"lo-hi": held-out accuracy}`` per distance bin.

    The task (:func:`ptm_lib.data.synthetic.associative_recall`) has ``keys`` keys and
    ``values`` values, so the model's vocabulary must be at least ``keys * (values + 1)``;
    chance is ``1 / values``.
    Training sees ``steps`` batches of ``batch_size`` fresh sequences of ``length`` tokens
    (AdamW at ``lr``, the model built after ``torch.manual_seed(seed)``); the ``n_eval``
    held-out sequences come from another seed, and each query is put in the bin of its
    distance back to the key's pair token (:func:`ptm_lib.data.synthetic.recall_distances`).
    """
    bins = list(bins)
    if not bins:
        raise ValueError("Give at least one distance bin, e.g. bins=[(2, 8), (10, 30)].")
    stream = AssociativeRecallStream(batch_size, length, keys, values, seed=seed)  # checks the sizes
    inputs, targets = associative_recall(n_eval, length, keys, values, seed=seed + 1_000_003)
    model = _train_fresh(make_model, stream, keys * (values + 1), steps, lr, seed, device, schedule, amp, "recall")
    return accuracy_by_distance(model, inputs, targets, recall_distances(inputs, keys, values), bins)


__all__ = ["LONG_RANGE_PRESETS", "copy_loss", "copy_accuracy", "long_range_accuracy", "accuracy_by_distance",
           "recall_accuracy"]
