"""The prose cannot drift from the outputs.

Every decimal figure in a chapter's text (``0.74``, ``48.6``, ``4.9%``) must be one its
saved outputs show, at the precision the text gives it: the figure 0.81 is matched by an
output 0.812, and 4.9% by 0.049 or 4.9. A figure quoted from elsewhere (a paper's table, a
benchmark run outside the notebook) is declared in a MyST comment line of its cell, which
the book does not render:

    % quoted: 84.4 83.9 (Devlin et al. 2019, table 5)

so a re-execution that moves a result cannot leave the text saying something the cells do
not show: this test fails until the text is brought up to date (or the figure glued).
"""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))  # every executed page: the chapters and the Chinese examples
DECIMAL = re.compile(r"(?<![\w.\-/])(\d+\.\d+)(%|M(?=\W))?(?![\w.]*\d)")
OUTPUT_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
CODE = re.compile(r"`[^`]*`|\$[^$]*\$|\{cite[^}]*\}`[^`]*`|\]\([^)]*\)|[Ss]ections?\s+\d+(\.\d+)*|§\s?\d+(\.\d+)*")
QUOTED = re.compile(r"^%\s*quoted:(.*)$", re.MULTILINE)
FENCE = re.compile(r"^\s*(```|~~~).*$", re.MULTILINE)  # directive fences, not inline code


def output_numbers(notebook) -> list[float]:
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            texts.append(output.get("text", ""))
            texts.extend(v for k, v in output.get("data", {}).items() if k.startswith("text/"))
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", "\n".join(texts))  # 669,184 -> 669184
    return [float(n) for n in OUTPUT_NUMBER.findall(text)]


def shown(figure: str, suffix: str, numbers: list[float]) -> bool:
    """Whether some output number, rounded to ``figure``'s decimals, equals it (a
    percentage also matches a fraction, and 0.67M matches 669,184)."""
    decimals = len(figure.split(".")[1])
    value = float(figure)
    candidates = [(value, decimals)]
    if suffix == "%":
        candidates.append((value / 100, decimals + 2))
    if suffix == "M":
        candidates = [(value * 1e6, decimals - 6)]
    for number in numbers:
        for candidate, places in candidates:
            if abs(round(number, places) - candidate) < 10 ** -(places + 3) or abs(number - candidate) < 1e-12:
                return True
    return False


def unshown_figures(notebook) -> list[str]:
    numbers = output_numbers(notebook)
    missing = []
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        quoted = set(" ".join(QUOTED.findall(cell.source)).replace(",", " ").split())
        prose = CODE.sub(" ", FENCE.sub(" ", QUOTED.sub(" ", cell.source)))
        for match in DECIMAL.finditer(prose):
            figure, suffix = match.group(1), match.group(2) or ""
            if figure in quoted or figure + suffix in quoted or shown(figure, suffix, numbers):
                continue
            context = " ".join(prose[max(0, match.start() - 50): match.end() + 20].split())
            missing.append(f"{figure}{suffix} in '...{context}...'")
    return missing


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_figure_in_the_text_is_in_the_outputs_or_quoted(path):
    missing = unshown_figures(nbformat.read(path, as_version=4))
    assert not missing, (f"{path.name}: figures in the text that no output shows; update the text from the "
                         "outputs, or, for a figure from elsewhere, add a line '% quoted: FIGURE (source)' "
                         "to its cell:\n" + "\n".join(missing))


def test_the_check_catches_a_figure_the_outputs_do_not_show():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("Accuracy rose to 0.81, i.e. 81.2%, against 84.4 in the paper.\n"
                                      "% quoted: 84.4 (the paper)"),
        nbformat.v4.new_code_cell("")])
    notebook.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="accuracy 0.812\n")]
    assert unshown_figures(notebook) == []
    notebook.cells[1].outputs[0].text = "accuracy 0.798\n"
    assert [m.split(" ")[0] for m in unshown_figures(notebook)] == ["0.81", "81.2%"]
