"""Result grids: the JSON files that chapters read instead of re-running hours of CPU.

A grid program (:mod:`ptm_lib.ablation`, :mod:`ptm_lib.eras`) writes its settings, what
each model is, and one row per run, after every run; a second process may add other models
to the same file (one process per core). The helpers here are what such programs share:
finding the book's file (:func:`find`), refusing to mix runs made with other settings
(:func:`existing`), recording the command and hardware (:func:`run_record`) and saving each
run as it ends (:func:`saver`).
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

from . import checkpoints


def find(name: str, remake: str) -> Path:
    """The book's result file ``name``: in ``data/results`` of a clone (or an editable install),
    or where a ``pip install`` put it (:func:`ptm_lib.checkpoints.book_data_folders`); a missing
    one raises with the command ``remake`` that makes it."""
    folders = checkpoints.book_data_folders("results")
    for folder in folders:
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"No {name} in {[str(f) for f in folders]}. Reinstall the package, or make it with: "
                            f"{remake}")


def existing(parser: argparse.ArgumentParser, out: Path, settings: dict, models: str) -> dict:
    """The grid recorded so far in ``out``, or a new one: ``settings``, an empty ``models``
    table and no runs. An ``out`` made with other settings is refused (its runs would not
    compare), as is a file that is not a grid."""
    fresh = {**settings, models: {}, "runs": []}
    if not out.exists():
        return fresh
    try:
        old = json.loads(out.read_text())
    except (OSError, ValueError) as error:
        parser.error(f"--out {out} exists but is not a grid this program wrote ({error}); give another file.")
    if any(old.get(k) != v for k, v in settings.items()):
        parser.error(f"--out {out} was made with other sizes or another recipe, so its runs would not compare "
                     "with these; give another file, or delete it to start again.")
    return {**fresh, **old}


def run_record(program: str, argv: list[str] | None) -> dict:
    """The command as typed, the CPU, torch's threads and version (after threads are set)."""
    return {"command": f"{program} {shlex.join(argv if argv is not None else sys.argv[1:])}",
            "cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
            "torch": torch.__version__}


def write(out: Path, result: dict) -> None:
    """Write ``result`` to ``out`` (its folder made if need be), readable and diffable."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")


def saver(out: Path, result: dict, run_record: dict, describe: Callable[[dict], str]) -> Callable[[dict], None]:
    """A ``done(row)`` for a grid's ``run``: add the row to ``result``, record the seconds since
    now in ``run_record``, rewrite ``out`` (so a grid cut short keeps every finished run) and
    print ``describe(row)``."""
    start = time.perf_counter()

    def save(row: dict) -> None:
        result["runs"].append(row)
        run_record["seconds"] = round(time.perf_counter() - start)
        write(out, result)
        print(describe(row), flush=True)

    return save


__all__ = ["find", "existing", "run_record", "write", "saver"]
