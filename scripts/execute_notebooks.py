"""Execute chapters with the settings CI checks them under, saving their outputs.

    python scripts/execute_notebooks.py chapters/01_image_pretraining.ipynb [...]
    python scripts/execute_notebooks.py --out /tmp/runs chapters/*.ipynb

The book is built from the saved outputs, and the notebook tests re-run every chapter and
compare (tests/notebook_outputs.py), so run this after changing a chapter or the library code it
uses. With ``--out`` the executed copies go to that folder and ``chapters/`` is left as
it is (to measure another machine's outputs, or to run a different preset).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent



def cell_spans(notebook) -> list[tuple[datetime, datetime]]:
    """``(start, end)`` of each code cell of a saved run, from the times nbclient records in
    the cell's ``metadata.execution``; cells without them (never executed) are left out.
    ``notebook`` is an ``nbformat`` notebook or the same JSON as plain dicts."""
    spans = []
    for cell in notebook["cells"]:
        timing = cell.get("metadata", {}).get("execution", {})
        if cell["cell_type"] == "code" and "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            spans.append(tuple(datetime.fromisoformat(timing[key].replace("Z", "+00:00"))
                               for key in ("iopub.execute_input", "shell.execute_reply")))
    return spans


@contextmanager
def kernel_environment(settings: dict[str, str]):
    """Set ``settings`` in this process's environment (which a kernel started inside the
    block inherits), then restore it, so that the caller (a test worker that runs another
    chapter next) keeps its own settings."""
    before = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def execute(path: Path, out: Path | None = None, timeout: int = 1800) -> float:
    """Run ``path`` top to bottom in its own folder, save it (to ``out`` if given, else in
    place) with the machine it ran on in ``metadata.ptm_run`` (the record the CPU benchmarks
    keep: :func:`scripts.cpu_benchmarks.hardware`), and return the seconds taken."""
    from scripts.cpu_benchmarks import hardware  # here, not at the top: it imports this module back

    notebook = nbformat.read(path, as_version=4)
    notebook.metadata["ptm_run"] = {"machine": hardware()}
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        target = path if out is None else out / path.name
        nbformat.write(notebook, target)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, help="save executed copies here, not in place")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from conftest import BOOK_ENV  # the one definition of the book's settings (the root conftest.py)

    for key, value in BOOK_ENV.items():
        os.environ.setdefault(key, value)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
    for path in args.notebooks:
        seconds = execute(path, args.out)
        print(f"{path}: executed in {seconds:.0f} s", flush=True)


if __name__ == "__main__":
    main()
