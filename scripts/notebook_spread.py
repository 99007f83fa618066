"""Measure how far the chapters' printed numbers move between kernel sets.

    python scripts/execute_notebooks.py --out /tmp/runs/avx2 chapters/0*.ipynb
    ATEN_CPU_CAPABILITY=default python scripts/execute_notebooks.py --out /tmp/runs/default chapters/0*.ipynb
    python scripts/notebook_spread.py /tmp/runs/avx2 /tmp/runs/default [--write]

Each folder holds the same chapters executed on another machine or under another kernel
set; they are compared, number by number, with the saved outputs in ``chapters/``. For
each chapter the script reports the outputs whose text differs (which no tolerance may
excuse) and the largest differences of the numbers, and checks them against the
chapter's tolerance in ``tests/notebook_tolerances.toml``. ``--write`` stores the measured
spread in ``tests/notebook_spread.json`` (replacing the entries of the chapters measured, keeping
the others), which a unit test holds the tolerances against.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from notebook_outputs import SPREAD_FILE_NAME, compare_notebooks, load_tolerances, number_pairs  # noqa: E402

SPREAD_FILE = ROOT / "tests" / SPREAD_FILE_NAME


def chapter_spread(saved: nbformat.NotebookNode, runs: dict[str, nbformat.NotebookNode]) -> dict:
    """The largest absolute and relative differences of a chapter's numbers over ``runs``,
    with where they occur (the ten largest of each)."""
    pairs = [(abs(fresh - old), abs(old), where, run, cell)
             for run, fresh_notebook in runs.items() for old, fresh, cell, where in number_pairs(saved, fresh_notebook)]
    moved = [p for p in pairs if p[0] > 0]
    by_abs = sorted(moved, key=lambda p: -p[0])[:10]
    by_rel = sorted(moved, key=lambda p: -p[0] / max(p[1], 1e-12))[:10]
    return {
        "numbers": len(pairs),
        "moved": len(moved),
        "max_abs": max((p[0] for p in moved), default=0.0),
        "max_rel": max((p[0] / max(p[1], 1e-12) for p in moved), default=0.0),
        "largest_abs": [f"{p[3]}: {p[0]:.3g} ({p[2]})" for p in by_abs],
        "largest_rel": [f"{p[3]}: {p[0] / max(p[1], 1e-12):.3g} of {p[1]:.3g} ({p[2]})" for p in by_rel],
        "pairs": [[p[4], p[1], p[0]] for p in moved],  # code cell, |saved|, |difference|
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="folders of executed chapters")
    parser.add_argument("--write", action="store_true", help=f"store the spread in {SPREAD_FILE.name}")
    args = parser.parse_args(argv)
    tolerances = load_tolerances()
    # chapters not in these runs keep what was measured before
    spread, failures = json.loads(SPREAD_FILE.read_text()) if SPREAD_FILE.exists() else {}, 0
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        saved = nbformat.read(path, as_version=4)
        runs = {str(folder): nbformat.read(folder / path.name, as_version=4)
                for folder in args.runs if (folder / path.name).exists()}
        if not runs:
            continue
        spread[path.name] = chapter_spread(saved, runs)
        spread[path.name]["runs"] = sorted(runs)
        report = {k: v for k, v in spread[path.name].items() if k != "pairs"}
        print(f"== {path.name}: {json.dumps(report, indent=1, ensure_ascii=False)}")
        tolerance = tolerances.get(path.name)
        for run, fresh in runs.items():
            problems = compare_notebooks(saved, fresh, tolerance) if tolerance else ["no tolerance entry"]
            failures += bool(problems)
            for problem in problems:
                print(f"   FAILS under {run}: {problem}")
    if args.write:
        SPREAD_FILE.write_text(json.dumps(spread, indent=1, ensure_ascii=False) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
