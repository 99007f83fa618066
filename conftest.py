"""Settings for every test run, and the collector of the notebook tests.

The kernels the notebook tests start inherit this environment, so the chapters run with
the CPU preset, one thread, no progress bars and no live widgets (PTM_STATIC=1): the same
settings that produced the outputs committed with the notebooks
(scripts/execute_notebooks.py). How a fresh run is compared with the saved outputs is in
tests/notebook_outputs.py.
"""

import os
import sys
from pathlib import Path

BOOK_ENV = {"PTM_SCALE": "cpu", "PTM_THREADS": "1", "PTM_PROGRESS": "0", "PTM_DEVICE": "cpu", "PTM_STATIC": "1"}
for key, value in BOOK_ENV.items():
    os.environ.setdefault(key, value)

ROOT = Path(__file__).resolve().parent


def pytest_collect_file(file_path, parent):
    """Each chapter notebook (chapters/*.ipynb) is one test: run it, compare its outputs."""
    if file_path.suffix == ".ipynb" and file_path.parent == ROOT / "chapters":
        sys.path.insert(0, str(ROOT / "tests"))
        from notebook_outputs import NotebookFile

        return NotebookFile.from_parent(parent, path=file_path)
    return None


def pytest_collection_modifyitems(session, config, items):
    """Give the two test workers (``-n 2``) equal shares of the chapters, longest first.

    pytest-xdist's ``worksteal`` hands the first half of the collected list to one worker
    and the second half to the other, and an idle worker later steals from the *end* of the
    other's queue. Collected as they are, all chapters sit in the first half: one worker runs
    them one after another while the other finishes the unit tests and then steals them
    pairwise from the back, so the two longest chapters met at the end. Here the chapters are
    split into two groups of about equal saved run time (each to the lighter group, longest
    first), and each group is put at the head of one half, so both workers start on a long
    chapter and the unit tests fill in behind.
    """
    if any(item.path.suffix == ".ipynb" for item in items):
        from notebook_outputs import order_for_two_workers, saved_run_seconds  # on the path once a chapter is

        items[:] = order_for_two_workers(items, lambda item: item.path.suffix == ".ipynb",
                                         lambda item: saved_run_seconds(item.path))
