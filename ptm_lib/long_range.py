"""Chapter 5's long-range experiment: the delayed-copy loss and accuracy, and accuracy against distance.

For each delay ``d`` a *fresh* model is trained on endless fresh batches of the
delayed-copy task (:mod:`ptm_lib.data.synthetic`: ``target[t] = x[t - d]``) through the
book's one training loop, :func:`ptm_lib.train.fit`, and then scored on a held-out set.
Plotting the accuracy against ``d`` for models of equal parameter count (an LSTM, a causal
CNN and GPT, see :mod:`ptm_lib.models.sequence`) shows how far back each architecture can
reach *within a given training budget*: a CNN cannot beat chance once ``d`` exceeds its
receptive field, an LSTM can in principle but must learn to keep ``d`` symbols in its
state, and self-attention can look ``d`` positions back in one step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F

from .data.batches import TensorBatches
from .data.synthetic import DelayedCopyStream, delayed_copy
from .evaluate import accuracy
from .train import IGNORE, fit

# Settings for chapter 5 (use with ``runtime.preset(**LONG_RANGE_PRESETS)``). GPT is
# 2 layers x 4 heads of width ``d_model`` with learned positions; the LSTM (1 layer) and the
# CNN (4 layers, kernel 3, receptive field 9) are size-matched to it (about 60k parameters
# on the CPU); ``lr`` is per architecture, each the best of 1e-3, 3e-3, 1e-2 in short runs.
LONG_RANGE_PRESETS = {
    # 2-core CPU, one thread: 45-60 s for the three architectures (6 delays each)
    "cpu": dict(length=64, batch_size=16, steps=150, delays=(1, 2, 4, 8, 16, 32), alphabet=16,
                d_model=48, lr={"lstm": 1e-2, "conv": 3e-3, "gpt": 3e-3}),
    # 4x longer sequences, delays up to 128, 13x the steps of a 4x batch (not yet timed on a GPU)
    "gpu": dict(length=256, batch_size=64, steps=2000, delays=(1, 2, 4, 8, 16, 32, 64, 128), alphabet=16,
                d_model=64, lr={"lstm": 3e-3, "conv": 3e-3, "gpt": 3e-3}),
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
    if steps < 1:
        raise ValueError(f"steps must be positive, got {steps}.")
    results = {}
    for delay in delays:
        stream = DelayedCopyStream(batch_size, length, delay, alphabet, seed=seed)  # checks delay < length
        inputs, targets = delayed_copy(n_eval, length, delay, alphabet, seed=seed + 1_000_003)
        torch.manual_seed(seed)
        model = make_model().to(device)
        _check_vocabulary(model, alphabet)
        fit(model, stream, copy_loss, steps=steps, lr=lr, schedule=schedule, amp=amp, device=device,
            desc=f"delay {delay}")
        results[delay] = copy_accuracy(model, inputs, targets)
    return results


__all__ = ["LONG_RANGE_PRESETS", "copy_loss", "copy_accuracy", "long_range_accuracy"]
