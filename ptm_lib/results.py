"""Result grids: the JSON files that chapters read instead of re-running hours of CPU.

A grid program (:mod:`ptm_lib.ablation`, :mod:`ptm_lib.eras`) writes its settings, what
each model is, and one row per run, after every run; a second process may add other models
to the same file (one process per core). The helpers here are what such programs share:
finding the book's file (:func:`find`), reading it with its runs checked (:func:`load`),
refusing to mix runs made with other settings (:func:`existing`), recording the command and
hardware (:func:`run_record`) and saving each run as it ends (:func:`saver`).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path

from . import checkpoints


def find(name: str, program: str) -> Path:
    """The book's result file ``name``: in ``data/results`` of a clone (or an editable install),
    or where a ``pip install`` put it (:func:`ptm_lib.checkpoints.book_data_folders`); a missing
    one raises with the command of ``program`` that makes it."""
    folders = checkpoints.book_data_folders("results")
    for folder in folders:
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"No {name} in {[str(f) for f in folders]}. Reinstall the package, or make it with: "
                            f"{program} --seeds 3 --threads 1 --out data/results/{name}")


def load(path: Path | str | None, name: str, program: str, key: tuple[str, ...], models: str) -> dict:
    """The grid in ``path`` (by default the book's file ``name``: :func:`find`), with its runs
    checked: no two runs share the ``key`` fields (the first names the model), and the models
    that have runs are exactly those its ``models`` table describes (they may differ in their
    seeds: a later run may add one with fewer)."""
    path = Path(path) if path is not None else find(name, program)
    result = json.loads(path.read_text())
    runs = [tuple(r[k] for k in key) for r in result["runs"]]
    if len(set(runs)) != len(runs) or {r[0] for r in runs} != set(result[models]):
        raise ValueError(f"{path} is not a complete grid (a run is scored twice, or one of its {models} has no "
                         f"runs); remake it with {program}.")
    return result


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
    """The command as typed (quoted so it runs again) and the
    :func:`~ptm_lib.checkpoints.machine_record` (call it after the threads are set)."""
    return {"command": f"{program} {shlex.join(argv if argv is not None else sys.argv[1:])}",
            **checkpoints.machine_record()}


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


__all__ = ["find", "load", "existing", "run_record", "write", "saver"]
