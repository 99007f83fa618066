"""Where and how big: device, seeds, threads and scale presets.

Every chapter starts with :func:`setup`, which picks the device (CUDA, then Apple's MPS,
then the CPU), seeds every generator, sets the number of CPU threads on purpose, and
chooses a *scale*: ``"cpu"`` for a small run that finishes in minutes on two cores, or
``"gpu"`` for bigger models and more data when an accelerator is present. Chapters then
pick their settings with :func:`preset`.

Environment variables override each choice, so CI and the HTML build can pin them:

``PTM_DEVICE``  ``cuda``, ``mps`` or ``cpu`` (default: the best available)
``PTM_SCALE``   ``cpu`` or ``gpu`` (default: ``gpu`` on CUDA, else ``cpu``)
``PTM_THREADS`` torch intra-op threads on the CPU (default 1: on a busy 2-core machine
                torch's own default was measured 15-50x slower than one thread)
``PTM_AMP``     ``bf16``, ``fp16`` or ``off``: the mixed precision of ``amp="auto"`` in
                :func:`ptm_lib.train.fit` (default: bf16 on GPUs that have it, fp16 on
                older GPUs, off on the CPU)
"""

from __future__ import annotations

import operator
import os
import random
from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

SCALES = ("cpu", "gpu")
DEVICES = ("cuda", "mps", "cpu")


def _env_choice(variable: str, allowed: tuple[str, ...]) -> str | None:
    """The value of ``variable`` if set, checked against ``allowed``."""
    value = os.environ.get(variable, "").strip().lower()
    if not value:
        return None
    if value not in allowed:
        raise ValueError(
            f"{variable}={value!r} is not understood; use one of {', '.join(allowed)} "
            f"or unset {variable} to choose automatically."
        )
    return value


def _available(kind: str) -> bool:
    if kind == "cuda":
        return torch.cuda.is_available()
    if kind == "mps":
        return bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    return True


def pick_device() -> torch.device:
    """The device to train on: ``PTM_DEVICE`` if set, else cuda > mps > cpu."""
    wanted = _env_choice("PTM_DEVICE", DEVICES)
    if wanted is not None:
        if not _available(wanted):
            raise RuntimeError(
                f"PTM_DEVICE={wanted} but no {wanted} device is available here; "
                "unset PTM_DEVICE or choose another."
            )
        return torch.device(wanted)
    return torch.device(next(kind for kind in DEVICES if _available(kind)))


def pick_scale(device: torch.device | None = None) -> str:
    """``PTM_SCALE`` if set, else ``"gpu"`` on a CUDA device and ``"cpu"`` otherwise."""
    wanted = _env_choice("PTM_SCALE", SCALES)
    if wanted is not None:
        return wanted
    device = device or pick_device()
    return "gpu" if device.type == "cuda" else "cpu"


def set_threads(n: int | None = None) -> int:
    """Set torch's CPU threads to ``n``, ``PTM_THREADS``, or 1, and return the number."""
    if n is None:
        n = _env_threads()
    n = _whole_number(n, "The number of threads", "e.g. 1 or 4")
    if n < 1:
        raise ValueError(f"The number of threads must be at least 1, got {n}.")
    torch.set_num_threads(n)
    return n


def _env_threads() -> int:
    """``PTM_THREADS`` as a number of threads (1 if unset or empty), checked."""
    raw = os.environ.get("PTM_THREADS", "").strip()
    if not raw:
        return 1
    try:
        n = int(raw)
    except ValueError:
        raise ValueError(f"PTM_THREADS={raw!r} must be a whole number of threads, e.g. 1 or 4.") from None
    if n < 1:
        raise ValueError(f"PTM_THREADS={raw!r} must be at least 1; set it to 1 or more, or unset it for the default 1.")
    return n


def _whole_number(value, what: str, example: str) -> int:
    """``value`` as an ``int`` (NumPy integers too); a ``TypeError`` naming ``what`` for a
    float, a string or a bool."""
    try:
        if isinstance(value, bool):
            raise TypeError
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be a whole number ({example}), got {value!r} "
                        f"({type(value).__name__}).") from None


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (CPU and CUDA); return a fresh CPU generator for data."""
    seed = _whole_number(seed, "The seed", "e.g. 0 or 42")
    if not 0 <= seed < 2**32:
        raise ValueError(f"The seed must lie in [0, 2**32 - 1] (NumPy's range), got {seed}; use e.g. 0 or 42.")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


@dataclass(frozen=True)
class Runtime:
    """What :func:`setup` chose. ``scale`` is ``"cpu"`` or ``"gpu"``."""

    device: torch.device
    scale: str
    threads: int
    seed: int

    def preset(self, **by_scale: dict[str, Any]) -> SimpleNamespace:
        """Settings for this runtime's scale: ``rt.preset(cpu={...}, gpu={...})``."""
        return preset(self.scale, **by_scale)

    def __str__(self) -> str:
        return f"device={self.device.type} scale={self.scale} threads={self.threads} seed={self.seed}"


def preset(scale: str, **by_scale: dict[str, Any]) -> SimpleNamespace:
    """Pick the settings for ``scale`` from keyword dicts named after the scales.

    Both presets must name the same settings, so a chapter cannot silently forget one.
    """
    missing = [s for s in SCALES if s not in by_scale]
    unknown = [s for s in by_scale if s not in SCALES]
    if missing or unknown:
        raise ValueError(f"Give one dict per scale {SCALES}; missing {missing}, unknown {unknown}.")
    not_dicts = [s for s, d in by_scale.items() if not isinstance(d, Mapping)]
    if not_dicts:
        raise TypeError(f"Each preset must be a dict of settings, e.g. cpu={{'width': 8}}; {not_dicts} "
                        f"got {[type(by_scale[s]).__name__ for s in not_dicts]}.")
    keys = {s: set(d) for s, d in by_scale.items()}
    if keys["cpu"] != keys["gpu"]:
        raise ValueError(f"The presets name different settings: {sorted(keys['cpu'] ^ keys['gpu'])}.")
    if scale not in SCALES:
        raise ValueError(f"Unknown scale {scale!r}; use one of {SCALES}.")
    return SimpleNamespace(**by_scale[scale])


def setup(seed: int = 0, threads: int | None = None) -> Runtime:
    """Pick device and scale, set threads and seeds; the first call of every chapter."""
    device = pick_device()
    n_threads = set_threads(threads)
    seed_everything(seed)
    return Runtime(device=device, scale=pick_scale(device), threads=n_threads, seed=seed)


__all__ = ["SCALES", "DEVICES", "pick_device", "pick_scale", "set_threads", "seed_everything", "Runtime", "preset",
           "setup"]
