"""Metrics shared by the chapters (accuracy here; perplexity, analogy and F1 join later)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from .train import to_device


@torch.no_grad()
def predict(model: torch.nn.Module, data: Iterable, device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Arg-max predictions and labels, on the CPU, for every ``(x, y)`` batch in ``data``."""
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    preds, labels = [], []
    for x, y in data:
        preds.append(model(to_device(x, device)).argmax(-1).cpu())
        labels.append(y.cpu())
    model.train(was_training)
    if not preds:
        raise ValueError("No batches to evaluate on.")
    return torch.cat(preds), torch.cat(labels)


def accuracy(model: torch.nn.Module, data: Iterable, device: torch.device | str | None = None) -> float:
    """Fraction of ``(x, y)`` examples in ``data`` that ``model`` classifies correctly."""
    preds, labels = predict(model, data, device)
    return (preds == labels).float().mean().item()


@torch.no_grad()
def embed(fn: Callable[[torch.Tensor], torch.Tensor], data: Iterable, device: torch.device | str = "cpu") -> torch.Tensor:
    """Stack ``fn(x)`` (flattened per example) over the ``(x, y)`` batches of ``data``."""
    return torch.cat([fn(to_device(x, device)).flatten(1).float().cpu() for x, _ in data])
