"""Chapter 1's ConvNet and the surgery that transfers its layers to a new task.

The network is a stack of four *layers* and a classifier *head*::

    conv1 (5x5) -> conv2 (3x3) -> conv3 (3x3) -> fc -> head
    28x28 -> 14x14 -> 7x7 -> 3x3 -> hidden -> classes

Each conv layer is convolution, ReLU and 2x2 max-pooling. :func:`transfer` builds a
network for a new task whose first ``k`` layers are copied from a pretrained one (and
optionally frozen) while the rest start from random weights: ``k = 0`` is training from
scratch, ``k = 4`` with freezing is "frozen features + new head", and ``k = 4`` without
freezing is fine-tuning, the three regimes the chapter compares (Yosinski et al. 2014).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

LAYER_NAMES = ("conv1", "conv2", "conv3", "fc")


@dataclass(frozen=True)
class CNNConfig:
    """Sizes of :class:`SmallCNN`; the defaults are the CPU preset of chapter 1."""

    channels: tuple[int, int, int] = (16, 32, 64)
    hidden: int = 128
    n_classes: int = 10
    in_channels: int = 1
    image_size: int = 28


def conv_layer(c_in: int, c_out: int, kernel: int) -> nn.Sequential:
    """Convolution ('same' padding), ReLU, then 2x2 max-pooling (halves height and width)."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2), nn.ReLU(), nn.MaxPool2d(2))


class SmallCNN(nn.Module):
    """Three conv layers, one hidden fully connected layer, and a linear head."""

    def __init__(self, config: CNNConfig = CNNConfig()):
        super().__init__()
        self.config = config
        c1, c2, c3 = config.channels
        side = config.image_size // 8  # three 2x2 poolings
        self.layers = nn.ModuleList([
            conv_layer(config.in_channels, c1, 5),
            conv_layer(c1, c2, 3),
            conv_layer(c2, c3, 3),
            nn.Sequential(nn.Flatten(), nn.Linear(c3 * side * side, config.hidden), nn.ReLU()),
        ])
        self.head = nn.Linear(config.hidden, config.n_classes)

    def features(self, x: torch.Tensor, depth: int = len(LAYER_NAMES)) -> torch.Tensor:
        """The output of the first ``depth`` layers for images ``x`` of shape ``(n, 1, 28, 28)``."""
        if not 0 <= depth <= len(self.layers):
            raise ValueError(f"depth must be between 0 and {len(self.layers)}, got {depth}.")
        for layer in self.layers[:depth]:
            x = layer(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits of shape ``(n, n_classes)``."""
        return self.head(self.features(x))


def freeze(module: nn.Module) -> nn.Module:
    """Stop gradients to every parameter of ``module`` (its weights stay as they are)."""
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def transfer(source: SmallCNN, k: int, n_classes: int, frozen: bool, seed: int = 0) -> SmallCNN:
    """A new network for an ``n_classes`` task with ``source``'s first ``k`` layers.

    Layers ``k+1`` and up and the head are freshly initialised (seeded by ``seed``);
    the copied layers are frozen when ``frozen`` is true, else trained with the rest.
    """
    if not 0 <= k <= len(LAYER_NAMES):
        raise ValueError(f"k must be between 0 and {len(LAYER_NAMES)} (the layers {LAYER_NAMES}), got {k}.")
    torch.manual_seed(seed)
    target = SmallCNN(CNNConfig(**{**source.config.__dict__, "n_classes": n_classes}))
    target.to(next(source.parameters()).device)
    for i in range(k):
        target.layers[i] = copy.deepcopy(source.layers[i])
        if frozen:
            freeze(target.layers[i])
    return target


__all__ = ["LAYER_NAMES", "CNNConfig", "conv_layer", "SmallCNN", "freeze", "transfer"]
