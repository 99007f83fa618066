"""The notebook tests: re-run each chapter and compare its outputs with the saved ones.

The chapters are committed with their outputs and the book is built from them. This
module proves those outputs fresh: it runs every chapter from the top in a new kernel
(nbclient) and compares each code cell's text output with the saved one.

Float arithmetic differs in its last bits between kernel sets (AVX-512, AVX2, ARM, torch's
``ATEN_CPU_CAPABILITY``), and training amplifies those bits, so an exact comparison would
pass only on the machine that last executed the notebooks. The comparison is therefore
split in two:

* the **text** of an output, with every number replaced by a placeholder and runs of
  whitespace collapsed (tables re-pad their columns when a number's width changes), must
  be *identical*;
* every **number** must agree with the saved one within the chapter's tolerance,
  ``|fresh - saved| <= atol + rtol * |saved|``.

The tolerances live in ``tests/notebook_tolerances.toml``, one entry per chapter, set from
the spread measured by running every chapter under several kernel sets
(``scripts/notebook_spread.py``; the README gives the figures). A chapter's entry may also
name a kernel set (``env``) it is always tested under, so that the ordinary test run proves
the tolerance on a second kernel set too.

Figures (``image/png``, and images embedded in an explorer's HTML) and widget views are not
compared; volatile text (memory addresses) is masked before comparing.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
import tomllib
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from scripts.execute_notebooks import cell_spans, kernel_environment

ROOT = Path(__file__).resolve().parent.parent
TOLERANCES = Path(__file__).with_name("notebook_tolerances.toml")
SPREAD_FILE_NAME = "notebook_spread.json"  # written by scripts/notebook_spread.py

# A number as Python prints it: optional sign, digits with an optional fraction (or a bare
# fraction), optional exponent. Not preceded by a letter, digit, '_' or '.', so that names
# like ``layer_2`` or ``t5`` stay text.
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
PLACEHOLDER = "\u2460"  # a character no output contains
COMPARED_MIME_TYPES = ("text/plain", "text/html", "text/markdown", "text/latex")
SANITIZE = [
    (re.compile(r"\b0x[0-9a-fA-F]+"), "ADDRESS"),  # memory addresses in reprs
    (re.compile(r"\[IPKernelApp\].*"), "KERNEL-LOG"),
    # figures embedded in an explorer's HTML (viz.text_explorer): pixels, like image/png, are not compared
    (re.compile(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+"), "EMBEDDED-IMAGE"),
]


@dataclass(frozen=True)
class Tolerance:
    """How far a fresh number may sit from the saved one: ``atol + rtol * |saved|``.

    ``cells`` holds wider tolerances for the code cells whose source contains a given
    text (``[(text, Tolerance), ...]``): a result that training makes chaotic across
    kernel sets (one seed of a small tagger) should not loosen the rest of its chapter.
    ``env`` names environment variables the chapter is always tested under."""

    atol: float = 0.0
    rtol: float = 0.0
    env: dict[str, str] = field(default_factory=dict)
    cells: tuple[tuple[str, "Tolerance"], ...] = ()

    def allows(self, saved: float, fresh: float) -> bool:
        return abs(fresh - saved) <= self.atol + self.rtol * abs(saved)

    def for_cell(self, source: str) -> "Tolerance":
        """The tolerance of the code cell with this source."""
        return next((tolerance for text, tolerance in self.cells if text in source), self)


def load_tolerances(path: Path = TOLERANCES) -> dict[str, Tolerance]:
    """The table of ``notebook_tolerances.toml``: chapter file name -> Tolerance."""
    table = tomllib.loads(path.read_text())
    return {name: _tolerance(entry) for name, entry in table.items()}


def _tolerance(entry: dict) -> Tolerance:
    cells = tuple((cell["source"], _tolerance(cell)) for cell in entry.get("cells", []))
    return Tolerance(entry.get("atol", 0.0), entry.get("rtol", 0.0), entry.get("env", {}), cells)


def split_numbers(text: str) -> tuple[str, list[float]]:
    """``text`` with each number replaced by a placeholder and whitespace collapsed, and
    the numbers in order: ``split_numbers("loss  1.5 at step 3")`` is
    ``("loss \u2460 at step \u2460", [1.5, 3.0])``."""
    for pattern, replacement in SANITIZE:
        text = pattern.sub(replacement, text)
    numbers = [float(match) for match in NUMBER.findall(text)]
    skeleton = " ".join(NUMBER.sub(PLACEHOLDER, text).split())
    return skeleton, numbers


def output_texts(outputs: Iterable[dict]) -> dict[str, str]:
    """The comparable text of one cell's outputs, keyed by stream name or MIME type (the
    outputs of each key joined in order). Images and widget views are left out."""
    texts: dict[str, list[str]] = {}
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            texts.setdefault(output["name"], []).append(output["text"])
        elif kind in ("execute_result", "display_data"):
            for mime in COMPARED_MIME_TYPES:
                if mime in output.get("data", {}):
                    value = output["data"][mime]
                    texts.setdefault(mime, []).append(value if isinstance(value, str) else "".join(value))
        elif kind == "error":
            texts.setdefault("error", []).append(f"{output['ename']}: {output['evalue']}")
    return {key: "".join(parts) for key, parts in texts.items()}


def compare_text(saved: str, fresh: str, tolerance: Tolerance) -> str | None:
    """``None`` if ``fresh`` matches ``saved`` (text exactly, numbers within
    ``tolerance``), else a short description of the first difference."""
    saved_skeleton, saved_numbers = split_numbers(saved)
    fresh_skeleton, fresh_numbers = split_numbers(fresh)
    if saved_skeleton != fresh_skeleton:
        diff = difflib.unified_diff(saved.splitlines(), fresh.splitlines(), "saved", "fresh", lineterm="", n=1)
        return "the text differs:\n" + "\n".join(list(diff)[:40])
    for index, (old, new) in enumerate(zip(saved_numbers, fresh_numbers)):
        if not tolerance.allows(old, new):
            context = _number_context(saved, index)
            return (f"number {index + 1} differs beyond the tolerance (atol {tolerance.atol:g}, "
                    f"rtol {tolerance.rtol:g}): saved {old:g}, fresh {new:g}, in {context!r}")
    return None


def compare_cell(saved_outputs: list[dict], fresh_outputs: list[dict], tolerance: Tolerance) -> list[str]:
    """The differences between one cell's saved and fresh outputs (empty if none)."""
    saved, fresh = output_texts(saved_outputs), output_texts(fresh_outputs)
    problems = []
    for key in sorted(saved.keys() | fresh.keys()):
        if key not in fresh:
            problems.append(f"{key}: saved output missing from the fresh run")
        elif key not in saved:
            problems.append(f"{key}: the fresh run printed output the saved notebook lacks:\n{fresh[key][:500]}")
        else:
            problem = compare_text(saved[key], fresh[key], tolerance)
            if problem:
                problems.append(f"{key}: {problem}")
    return problems


def compare_notebooks(saved: nbformat.NotebookNode, fresh: nbformat.NotebookNode,
                      tolerance: Tolerance) -> list[str]:
    """Every difference between two runs of one notebook, one line per cell."""
    problems = []
    code_cells = [(s, f) for s, f in zip(saved.cells, fresh.cells) if s.cell_type == "code"]
    for number, (saved_cell, fresh_cell) in enumerate(code_cells, start=1):
        cell_tolerance = tolerance.for_cell(saved_cell.source)
        for problem in compare_cell(saved_cell.get("outputs", []), fresh_cell.get("outputs", []), cell_tolerance):
            problems.append(f"code cell {number}: {problem}")
    return problems


def number_pairs(saved: nbformat.NotebookNode,
                 fresh: nbformat.NotebookNode) -> Iterator[tuple[float, float, int, str]]:
    """``(saved, fresh, code cell number, where)`` for every number of two runs whose text
    agrees: the raw material of the spread measurement (``scripts/notebook_spread.py``)."""
    code_cells = [(s, f) for s, f in zip(saved.cells, fresh.cells) if s.cell_type == "code"]
    for number, (saved_cell, fresh_cell) in enumerate(code_cells, start=1):
        saved_texts = output_texts(saved_cell.get("outputs", []))
        fresh_texts = output_texts(fresh_cell.get("outputs", []))
        for key in saved_texts.keys() & fresh_texts.keys():
            skeleton, old = split_numbers(saved_texts[key])
            fresh_skeleton, new = split_numbers(fresh_texts[key])
            if skeleton == fresh_skeleton:
                for index, pair in enumerate(zip(old, new)):
                    yield (*pair, number,
                           f"cell {number} {key} #{index + 1}: {_number_context(saved_texts[key], index)}")


def code_cell_sources(notebook: nbformat.NotebookNode) -> dict[int, str]:
    """Code cell number (from 1, as in the messages) -> source."""
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    return {number: cell.source for number, cell in enumerate(code, start=1)}


def _number_context(text: str, index: int) -> str:
    """The words around the ``index``-th number of ``text`` (for messages)."""
    for position, match in enumerate(NUMBER.finditer(text)):
        if position == index:
            return " ".join(text[max(0, match.start() - 40): match.end() + 20].split())
    return ""


def execute(notebook: nbformat.NotebookNode, folder: Path, env: dict[str, str],
            timeout: int = 900) -> nbformat.NotebookNode:
    """A copy of ``notebook`` run top to bottom in ``folder``, its kernel started with the
    environment overrides ``env``."""
    fresh = copy.deepcopy(notebook)
    for cell in fresh.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    client = NotebookClient(fresh, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}})
    with kernel_environment(env):
        client.execute()
    return fresh


class NotebookFile(pytest.File):
    """A chapter notebook: one test that runs it and compares every cell."""

    def collect(self):
        yield NotebookItem.from_parent(self, name="outputs")


class NotebookItem(pytest.Item):
    def runtest(self):
        tolerances = load_tolerances()
        name = self.path.name
        if name not in tolerances:
            raise NotebookMismatch([f"{name} has no entry in {TOLERANCES.name}: run "
                                    "scripts/notebook_spread.py on it and add its tolerance"])
        tolerance = tolerances[name]
        saved = nbformat.read(self.path, as_version=4)
        try:
            fresh = execute(saved, self.path.parent, tolerance.env)
        except CellExecutionError as error:
            raise NotebookMismatch([f"a cell raised an error:\n{error}"]) from None
        problems = compare_notebooks(saved, fresh, tolerance)
        if problems:
            raise NotebookMismatch(problems)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, NotebookMismatch):
            return "\n".join(excinfo.value.problems)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"{self.path.relative_to(ROOT)}: fresh outputs match the saved ones"


class NotebookMismatch(Exception):
    """The fresh run of a notebook differs from its saved outputs."""

    def __init__(self, problems: list[str]):
        super().__init__(f"{len(problems)} difference(s)")
        self.problems = problems


def saved_run_seconds(path: Path) -> float:
    """How long the chapter's saved run took: the sum of its code cells' execution times
    (:func:`scripts.execute_notebooks.cell_spans`); 0 if unrecorded."""
    return sum((end - start).total_seconds() for start, end in cell_spans(nbformat.read(path, as_version=4)))


def order_for_two_workers(items: list, is_chapter, seconds) -> list:
    """``items`` reordered so that each half of the list starts with half of the chapters'
    run time (conftest.py says why): the chapters, longest first, each go to the group
    with less time so far; group one opens the list, group two opens its second half."""
    chapters = [item for item in items if is_chapter(item)]
    others = [item for item in items if not is_chapter(item)]
    if len(chapters) < 2 or not others:
        return [item for _, item in sorted(((seconds(item), item) for item in chapters), key=lambda p: -p[0])] + others
    durations = [(seconds(item), item) for item in chapters]  # each read once (a notebook file each)
    groups: tuple[list, list] = ([], [])
    totals = [0.0, 0.0]
    for duration, item in sorted(durations, key=lambda pair: -pair[0]):
        lighter = totals.index(min(totals))
        groups[lighter].append(item)
        totals[lighter] += duration
    head = max(0, len(items) // 2 - len(groups[0]))  # the other tests that complete the first half
    return [*groups[0], *others[:head], *groups[1], *others[head:]]
