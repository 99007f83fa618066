"""Throughput: how many tokens per second a language model trains on, or reads.

Chapter 5's first argument for the Transformer is *parallelism* (Vaswani et al. 2017,
section 4 and table 1): a recurrent layer needs ``T`` sequential steps to read ``T``
tokens, because ``h_t`` needs ``h_{t-1}``, while self-attention and convolution compute
all ``T`` positions at once with a few large matrix multiplies, which is exactly what
GPUs (and, less so, vector CPUs) are built for. The cost of attention is ``O(T^2 d)``
per layer against the RNN's ``O(T d^2)``, so the RNN wins on paper when ``T > d``; the
stopwatch says how these trade off on real hardware.

:func:`training_throughput` times full training steps (forward, backward, AdamW update)
and :func:`inference_throughput` times forward passes without gradients, both in tokens
per second, on the same ``(B, T)`` batch of ids. The model is any next-token LM mapping
``(B, T)`` ids to ``(B, T, V)`` logits (GPT and the baselines of
:mod:`ptm_lib.models.sequence`). A few warm-up steps run first and are not timed (the
first calls allocate memory and pick kernels), and CUDA is synchronised before the clock
is read, since GPU work is asynchronous.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping, Sequence
from contextlib import nullcontext

import torch
import torch.nn.functional as F

from .train import amp_dtype, evaluating


def _check_batch(batch: torch.Tensor) -> None:
    if not isinstance(batch, torch.Tensor) or batch.dim() != 2:
        raise ValueError("batch must be a (batch, length) tensor of token ids, e.g. "
                         "torch.randint(0, vocab_size, (8, 128)).")
    if batch.numel() == 0:
        raise ValueError(f"batch is empty (shape {tuple(batch.shape)}): give at least one sequence of at least "
                         "two tokens to time.")
    if batch.dtype.is_floating_point or batch.dtype == torch.bool:
        raise TypeError(f"batch must hold integer token ids, got {batch.dtype}.")


def _check_counts(steps: int, warmup: int) -> None:
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}.")
    if not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be a non-negative integer, got {warmup!r}.")


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _autocast(device: torch.device, amp: str):
    dtype = amp_dtype(device, amp)
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()


def _timed(step, steps: int, warmup: int, device: torch.device) -> float:
    """Seconds that ``steps`` calls of ``step()`` take, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        step()
    _synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _synchronize(device)
    return time.perf_counter() - start


def training_throughput(model: torch.nn.Module, batch: torch.Tensor, steps: int = 20, warmup: int = 3,
                        device: torch.device | str | None = None, amp: str = "off", lr: float = 1e-4) -> float:
    """Tokens per second of full training steps on ``batch`` ``(B, T)``: forward, next-token
    cross-entropy, backward, AdamW update. Counts ``B * T`` tokens per step.

    The steps run on a *copy* of ``model`` (moved to ``device``, default: the model's own),
    so the model itself, its weights and its train/eval mode, are left untouched. ``amp``
    is as in :func:`ptm_lib.train.fit` (``"off"``, ``"auto"``, ``"bf16"``, ``"fp16"``); fp16
    here skips the gradient scaler, which costs little time and does not change the count.
    """
    _check_batch(batch)
    _check_counts(steps, warmup)
    device = torch.device(device) if device is not None else next(model.parameters()).device
    clone = copy.deepcopy(model).to(device).train()
    optimizer = torch.optim.AdamW(clone.parameters(), lr=lr)
    ids = batch.to(device)
    inputs, targets = ids, ids.roll(-1, dims=1)  # the last target wraps around: fine for timing
    autocast = _autocast(device, amp)

    def step() -> None:
        with autocast:
            logits = clone(inputs)
        loss = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return steps * ids.numel() / _timed(step, steps, warmup, device)


def inference_throughput(model: torch.nn.Module, batch: torch.Tensor, steps: int = 20, warmup: int = 3,
                         device: torch.device | str | None = None, amp: str = "off") -> float:
    """Tokens per second of forward passes on ``batch`` ``(B, T)`` in eval mode without gradients.

    Runs on ``model`` itself when ``device`` is its own (the default), else on a copy;
    the model's train/eval mode is restored afterwards.
    """
    _check_batch(batch)
    _check_counts(steps, warmup)
    own = next(model.parameters()).device
    device = torch.device(device) if device is not None else own
    runner = model if device == own else copy.deepcopy(model).to(device)
    ids = batch.to(device)
    autocast = _autocast(device, amp)

    def step() -> None:
        with autocast:
            runner(ids)

    with evaluating(runner):
        seconds = _timed(step, steps, warmup, device)
    return steps * ids.numel() / seconds


def step_throughput(step, tokens_per_step: int, steps: int = 20, warmup: int = 3,
                    device: torch.device | str = "cpu") -> float:
    """Tokens per second of any ``step()`` callable that processes ``tokens_per_step`` tokens.

    For models whose batches are not a plain ``(B, T)`` tensor of ids (the biLM of chapter 4
    reads ``(words, chars)``): the caller builds the step, training or inference, and this
    times it the same way as :func:`training_throughput` (warm-up, CUDA synchronised).
    """
    _check_counts(steps, warmup)
    if tokens_per_step < 1:
        raise ValueError(f"tokens_per_step must be positive, got {tokens_per_step}.")
    return steps * tokens_per_step / _timed(step, steps, warmup, torch.device(device))


def throughput_table(models: Mapping[str, torch.nn.Module], lengths: Sequence[int], vocab_size: int,
                     tokens_per_batch: int = 4096, steps: int = 10, warmup: int = 2,
                     device: torch.device | str | None = None, amp: str = "off", seed: int = 0) -> list[dict]:
    """Training and inference tokens/s of each model at each sequence length, as table rows.

    Every batch holds about ``tokens_per_batch`` random ids (``B = tokens_per_batch // T``
    sequences of length ``T``), so the lengths compare the same amount of work. Returns one
    dict per (model, length): ``{"model", "length", "batch_size", "params", "train_tok_s",
    "infer_tok_s"}`` (ready for ``pandas.DataFrame``).
    """
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for length in lengths:
        if length < 1 or length > tokens_per_batch:
            raise ValueError(f"length={length} must lie in 1..tokens_per_batch={tokens_per_batch}.")
        batch = torch.randint(0, vocab_size, (tokens_per_batch // length, length), generator=generator)
        for name, model in models.items():
            rows.append({
                "model": name, "length": length, "batch_size": len(batch),
                "params": sum(p.numel() for p in model.parameters()),
                "train_tok_s": training_throughput(model, batch, steps, warmup, device, amp),
                "infer_tok_s": inference_throughput(model, batch, steps, warmup, device, amp),
            })
    return rows


__all__ = ["training_throughput", "inference_throughput", "step_throughput", "throughput_table"]
