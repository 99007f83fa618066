"""One training loop for the whole book.

Every chapter trains through :func:`fit`: the chapter supplies a model, an iterable of
batches and a ``loss_fn(model, batch) -> scalar tensor``; the loop moves batches to the
device, runs the forward pass under mixed precision where it pays (bfloat16 on GPUs that
have it, float16 with a gradient scaler otherwise, e.g. Colab's T4), clips the gradient
norm, steps the optimiser, shows a ``tqdm.auto`` progress bar and records a
:class:`History` that :func:`ptm_lib.viz.plot_history` turns into learning curves.

Set ``PTM_PROGRESS=0`` to hide progress bars (the book's saved outputs do, since a
finished bar tells the HTML reader nothing).
"""

from __future__ import annotations

import functools
import itertools
import math
import numbers
import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch
from tqdm.auto import tqdm

LossFn = Callable[[torch.nn.Module, Any], torch.Tensor]
EvalFn = Callable[[torch.nn.Module], Mapping[str, float]]
AMP_CHOICES = ("auto", "bf16", "fp16", "off")
SCHEDULES = ("constant", "linear", "cosine")
IGNORE = -100
"""The label of a position no loss counts (padding, unmasked tokens, a word's later pieces):
PyTorch's ``ignore_index`` default, used by every loss in the book that skips positions."""


@dataclass
class History:
    """What happened during :func:`fit`.

    ``train`` holds ``{"step", "epoch", "loss"}`` records (loss averaged over the steps
    since the previous record); ``val`` holds ``{"step", **metrics}`` records from the
    ``evaluate`` callback.
    """

    train: list[dict[str, float]] = field(default_factory=list)
    val: list[dict[str, float]] = field(default_factory=list)

    def series(self, metric: str, split: str = "train") -> tuple[list[float], list[float]]:
        """Steps and values of ``metric`` in ``split`` (``"train"`` or ``"val"``)."""
        records = [r for r in getattr(self, split) if metric in r]
        if not records:
            known = sorted({k for r in getattr(self, split) for k in r} - {"step", "epoch"})
            raise KeyError(f"No {metric!r} in the {split} history; it has {known}.")
        return [r["step"] for r in records], [r[metric] for r in records]

    def last(self, metric: str, split: str = "val") -> float:
        """The most recent value of ``metric`` in ``split``."""
        return self.series(metric, split)[1][-1]


def progress_enabled() -> bool:
    """False when ``PTM_PROGRESS`` is ``0``/``false``/``no``/``off``."""
    return os.environ.get("PTM_PROGRESS", "1").strip().lower() not in {"0", "false", "no", "off"}


@contextmanager
def evaluating(model: torch.nn.Module):
    """Run the block with ``model`` in eval mode (dropout off) and gradients off, then put
    it back in the mode it was in, even if the block raises::

        with evaluating(model):
            logits = model(ids)
    """
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)


def to_device(batch: Any, device: torch.device | str) -> Any:
    """Move every tensor in a (nested) tuple, list or dict to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


def amp_dtype(device: torch.device, amp: str = "auto") -> torch.dtype | None:
    """The autocast dtype for ``amp`` on ``device``, or None for full precision.

    ``"auto"`` means bfloat16 on CUDA GPUs that support it, float16 on older ones, and
    full precision elsewhere (CPU autocast is slower than float32 on most CPUs; the tests
    still exercise it with ``"bf16"``). The environment variable ``PTM_AMP`` (``bf16``,
    ``fp16`` or ``off``) overrides ``"auto"``, so a whole chapter can be run with the
    float16 path of Colab's T4 on a GPU that has bfloat16 (``make gpu AMP=fp16``).

    A forced dtype the hardware cannot run falls back with one warning
    (:class:`MixedPrecisionFallback`) instead of crashing mid-run: ``"bf16"`` on a GPU
    without bfloat16 (Colab's T4) becomes float16 with a gradient scaler, and a forced
    dtype on a CPU whose kernels lack it (oneDNN has no bfloat16 LSTM on AVX2-only CPUs)
    becomes float32.
    """
    if amp not in AMP_CHOICES:
        raise ValueError(f"amp={amp!r}; use one of {AMP_CHOICES}.")
    if amp == "auto" and os.environ.get("PTM_AMP", "").strip():
        amp = os.environ["PTM_AMP"].strip().lower()
        if amp not in AMP_CHOICES:
            raise ValueError(f"PTM_AMP={amp!r} is not understood; use one of {AMP_CHOICES} or unset PTM_AMP.")
    if amp == "off":
        return None
    if amp == "auto":
        if device.type != "cuda":
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    if device.type == "cuda" and dtype is torch.bfloat16 and not torch.cuda.is_bf16_supported():
        _warn_once(amp, f"amp='bf16' asked for bfloat16, which {torch.cuda.get_device_name(device)} does not "
                        "support: training in float16 with a gradient scaler instead (pass amp='fp16' or "
                        "amp='auto' to choose this yourself).")
        return torch.float16
    if device.type == "cpu" and not cpu_autocast_works(dtype):
        _warn_once(amp, f"amp={amp!r} asked for {dtype} autocast, but this CPU's kernels cannot run the book's "
                        f"layers in {dtype} (torch reports CPU capability "
                        f"{torch.backends.cpu.get_cpu_capability()}): training in float32 instead. Pass "
                        "amp='off' (or 'auto') to choose this yourself, or run on a GPU for mixed precision.")
        return None
    return dtype


class MixedPrecisionFallback(UserWarning):
    """A forced mixed-precision dtype that the hardware lacks was replaced (see amp_dtype)."""


_WARNED: set[str] = set()


def _warn_once(key: str, message: str) -> None:
    if key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(message, MixedPrecisionFallback, stacklevel=3)


@functools.cache
def cpu_autocast_works(dtype: torch.dtype) -> bool:
    """Whether this CPU runs the book's layer types (linear, convolution, LSTM) under
    autocast to ``dtype``, forward and backward: a one-off probe on tiny inputs. The
    random stream is left as it was, so a probe never changes a seeded run."""
    with torch.random.fork_rng(devices=[]):
        try:
            with torch.autocast("cpu", dtype=dtype):
                lstm = torch.nn.LSTM(4, 4, batch_first=True)
                conv = torch.nn.Conv2d(1, 1, 3)
                out = lstm(torch.ones(1, 3, 4))[0].sum() + conv(torch.ones(1, 1, 4, 4)).sum()
            out.float().backward()
        except RuntimeError:
            return False
    return True


def _batches(data: Iterable, epochs: int | None, steps: int | None):
    """Yield ``(epoch, batch)`` for ``epochs`` passes, or cycle until ``steps`` batches."""
    for epoch in itertools.count() if epochs is None else range(epochs):
        empty = True
        for batch in data:
            empty = False
            yield epoch, batch
        if empty:
            raise ValueError(f"The batches are empty in epoch {epoch}: there is nothing to train on. Pass data that "
                             "yields batches on every pass (a generator is used up after one: give a list or a "
                             "re-iterable loader such as ptm_lib.data.batches.TensorBatches).")


def fit(
    model: torch.nn.Module,
    data: Iterable,
    loss_fn: LossFn,
    *,
    steps: int | None = None,
    epochs: int | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    clip_norm: float | None = 1.0,
    schedule: str = "constant",
    warmup: float = 0.05,
    amp: str = "auto",
    device: torch.device | str | None = None,
    evaluate: EvalFn | None = None,
    eval_every: int | None = None,
    log_every: int = 10,
    desc: str = "train",
) -> History:
    """Train ``model`` on ``data`` and return its :class:`History`.

    Give exactly one of ``steps`` (cycle through ``data`` until that many updates) and
    ``epochs`` (passes over ``data``). Without ``optimizer``, AdamW over the parameters
    that require gradients is used with ``lr`` and ``weight_decay``. ``schedule`` sets the
    learning rate over training: ``"constant"``, or a linear warm-up over the first
    ``warmup`` fraction of the updates followed by a ``"linear"`` or ``"cosine"`` decay to
    zero (see :func:`lr_multiplier`). ``clip_norm`` caps the gradient norm (``None``: no
    clipping); the loss is recorded every ``log_every`` steps. ``evaluate(model)``
    runs every ``eval_every`` steps (if given; ``None`` or 0 means only at the end) and once
    at the end, in eval mode without gradients, and must return a dict of numbers.

    Arguments that cannot train as asked (``steps=0``, ``clip_norm=-1``, ``lr=nan``,
    ``log_every=0``, ...) raise ``ValueError`` before anything runs, and a ``loss_fn`` that
    returns something other than a one-element tensor raises on the first batch.
    """
    _check_fit_args(model, steps, epochs, optimizer, lr, weight_decay, clip_norm, eval_every, log_every)
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("Every parameter is frozen: unfreeze something before training.")
    optimizer = optimizer or torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    total = steps if steps is not None else _len_or_none(data, epochs)
    scheduler = _scheduler(optimizer, schedule, warmup, total)
    dtype = amp_dtype(device, amp)
    scaler = torch.amp.GradScaler(device.type) if dtype is torch.float16 else None
    history = History()

    def run_eval(step: int) -> None:
        if evaluate is None:
            return
        with evaluating(model):
            metrics = dict(evaluate(model))
        history.val.append({"step": step, **{k: float(v) for k, v in metrics.items()}})

    model.train()
    bar = tqdm(total=total, desc=desc, disable=not progress_enabled(), leave=False)
    running, count, step = 0.0, 0, 0
    for epoch, batch in _batches(data, epochs, steps):
        loss = _update(model, loss_fn, to_device(batch, device), optimizer, params, dtype, scaler, clip_norm)
        if scheduler is not None:
            scheduler.step()
        step += 1
        running, count = running + loss, count + 1
        if step % log_every == 0 or step == steps:
            history.train.append({"step": step, "epoch": epoch, "loss": running / count})
            bar.set_postfix(loss=f"{running / count:.3f}")
            running, count = 0.0, 0
        bar.update()
        if eval_every and step % eval_every == 0:
            run_eval(step)
        if step == steps:
            break
    if count:
        history.train.append({"step": step, "epoch": epoch, "loss": running / count})
    bar.close()
    if not (history.val and history.val[-1]["step"] == step):
        run_eval(step)
    return history


def is_count(value: Any) -> bool:
    """(Also used to check configs elsewhere, e.g. word2vec's.) True for a whole number (``int`` or
    NumPy integer), False for floats and bools."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_positive_number(value: Any) -> bool:
    """True for a real, finite number ``> 0`` (False for NaN, infinities and non-numbers)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def _check_fit_args(model, steps, epochs, optimizer, lr, weight_decay, clip_norm, eval_every, log_every) -> None:
    """Refuse arguments that would make :func:`fit` hang, divide by zero or train wrongly."""
    if (steps is None) == (epochs is None):
        raise ValueError("Give exactly one of steps= or epochs= to fit().")
    if steps is not None and not (is_count(steps) and steps > 0):
        raise ValueError(f"steps must be a positive number of updates, got {steps!r}; pass e.g. steps=100, "
                         "or epochs= to make passes over the data.")
    if epochs is not None and not (is_count(epochs) and epochs > 0):
        raise ValueError(f"epochs must be a positive number of passes over the data, got {epochs!r}; pass e.g. "
                         "epochs=1, or steps= to count updates.")
    if optimizer is None and not is_positive_number(lr):
        raise ValueError(f"lr must be a positive, finite learning rate, got {lr!r}; pass e.g. lr=1e-3.")
    if optimizer is None and not (isinstance(weight_decay, numbers.Real) and 0 <= weight_decay < math.inf):
        raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}; pass e.g. "
                         "weight_decay=0.01, or 0.0 for none.")
    if clip_norm is not None and not is_positive_number(clip_norm):
        raise ValueError(f"clip_norm must be a positive gradient norm, got {clip_norm!r}; pass e.g. clip_norm=1.0, "
                         "or clip_norm=None to train without clipping.")
    if not (is_count(log_every) and log_every > 0):
        raise ValueError(f"log_every must be a positive number of steps, got {log_every!r}; pass e.g. log_every=10.")
    if eval_every is not None and not (is_count(eval_every) and eval_every >= 0):
        raise ValueError(f"eval_every must be a positive number of steps (or None/0: evaluate only at the end), "
                         f"got {eval_every!r}; pass e.g. eval_every=100.")
    if next(iter(model.parameters()), None) is None:
        raise ValueError(f"{type(model).__name__} has no parameters, so there is nothing to train; pass the model "
                         "whose weights should learn.")


def lr_multiplier(step: int, total: int, schedule: str = "linear", warmup: float = 0.05) -> float:
    """The factor applied to the base learning rate before update ``step`` of ``total``.

    A linear warm-up from 0 over the first ``warmup * total`` updates, then a linear or
    cosine decay to 0 at ``total``; ``"constant"`` is always 1.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule={schedule!r}; use one of {SCHEDULES}.")
    if schedule == "constant":
        return 1.0
    warm = max(1, round(warmup * total))
    if step < warm:
        return (step + 1) / warm
    progress = min(1.0, (step - warm + 1) / max(1, total - warm))
    return 1.0 - progress if schedule == "linear" else 0.5 * (1.0 + math.cos(math.pi * progress))


def _scheduler(optimizer, schedule: str, warmup: float, total: int | None):
    """A LambdaLR following :func:`lr_multiplier`, or None for a constant rate."""
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule={schedule!r}; use one of {SCHEDULES}.")
    if schedule == "constant":
        return None
    if total is None:
        raise ValueError(f"schedule={schedule!r} needs to know the number of updates: give steps=, "
                         "or epochs= with data that has a len().")
    if not 0.0 <= warmup < 1.0:
        raise ValueError(f"warmup is a fraction of the updates in [0, 1), got {warmup}.")
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_multiplier(step, total, schedule, warmup))


def _len_or_none(data: Iterable, epochs: int | None) -> int | None:
    try:
        return len(data) * epochs  # type: ignore[arg-type]
    except TypeError:
        return None


def _update(model, loss_fn, batch, optimizer, params, dtype, scaler, clip_norm) -> float:
    """One optimiser step; returns the loss as a float."""
    device_type = next(model.parameters()).device.type
    autocast = torch.autocast(device_type, dtype=dtype) if dtype is not None else nullcontext()
    with autocast:
        loss = loss_fn(model, batch)
    _check_loss(loss)
    value = loss.item()
    if not math.isfinite(value):
        raise FloatingPointError(f"The loss became {value}; lower the learning rate or check the data.")
    optimizer.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
    else:
        loss.backward()
    if clip_norm is not None:
        torch.nn.utils.clip_grad_norm_(params, clip_norm)
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    return value


def _check_loss(loss: Any) -> None:
    """A ``loss_fn`` must return the loss as a one-element tensor that backward() can run on."""
    if not isinstance(loss, torch.Tensor):
        raise TypeError(f"loss_fn returned a {type(loss).__name__}, not a tensor; return the loss tensor itself "
                        "(not loss.item()), so that fit() can back-propagate through it.")
    if loss.numel() != 1:
        raise ValueError(f"loss_fn returned a tensor of shape {tuple(loss.shape)}, but fit() needs one number; "
                         "reduce it, e.g. with .mean() (or reduction='mean' in the loss function).")


def classification_loss(model: torch.nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Cross-entropy of ``model(x)`` against integer labels ``y`` for a batch ``(x, y)``."""
    x, y = batch
    return torch.nn.functional.cross_entropy(model(x).float(), y)


__all__ = ["History", "fit", "lr_multiplier", "classification_loss", "to_device", "evaluating", "IGNORE", "amp_dtype",
           "progress_enabled", "MixedPrecisionFallback", "cpu_autocast_works", "is_count", "is_positive_number"]
