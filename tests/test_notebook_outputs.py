"""The comparison behind the notebook tests (tests/notebook_outputs.py): text exactly,
numbers within the chapter's measured tolerance, and nothing else excused."""

import json
from pathlib import Path

import nbformat
import pytest
from notebook_outputs import (
    SPREAD_FILE_NAME,
    Tolerance,
    code_cell_sources,
    compare_cell,
    compare_notebooks,
    load_tolerances,
    split_numbers,
)

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))  # every executed page: the chapters and the Chinese examples
TOL = Tolerance(atol=0.01, rtol=0.02)


def stdout(text):
    return [nbformat.v4.new_output("stream", name="stdout", text=text)]


def result(plain, html=None):
    data = {"text/plain": plain, **({"text/html": html} if html else {}), "image/png": "iVBOR..."}
    return [nbformat.v4.new_output("execute_result", data=data, execution_count=1)]


def test_numbers_become_placeholders_and_whitespace_collapses():
    skeleton, numbers = split_numbers("loss   1.5 at step 3, ppl 1.2e+03 (-0.25); layer_2 t5 0x7f3a")
    assert numbers == [1.5, 3.0, 1200.0, -0.25]
    assert skeleton == "loss \u2460 at step \u2460, ppl \u2460 (\u2460); layer_2 t5 ADDRESS"


def test_identical_and_nearby_numbers_pass():
    assert compare_cell(stdout("acc 0.500\n"), stdout("acc 0.500\n"), TOL) == []
    assert compare_cell(stdout("acc 0.500 ppl 1000\n"), stdout("acc 0.509 ppl 1019\n"), TOL) == []
    # a table re-padded because one number got wider is the same table
    assert compare_cell(result("a   9.9\nb  10.0"), result("a  10.1\nb  10.0"), Tolerance(atol=0.5)) == []


def test_a_number_beyond_the_tolerance_fails_and_says_where():
    [problem] = compare_cell(stdout("held-out accuracy 0.500\n"), stdout("held-out accuracy 0.540\n"), TOL)
    assert "saved 0.5, fresh 0.54" in problem and "held-out accuracy" in problem


def test_changed_text_fails_whatever_the_numbers():
    assert compare_cell(stdout("nearest: italy 0.9\n"), stdout("nearest: spain 0.9\n"), TOL)
    assert compare_cell(result("x", html="<td>1</td>"), result("x", html="<td>1</td><td>2</td>"), TOL)


def test_missing_extra_and_error_outputs_fail():
    assert compare_cell(stdout("a\n"), [], TOL)
    assert compare_cell([], stdout("a\n"), TOL)
    warning = [nbformat.v4.new_output("stream", name="stderr", text="UserWarning: x\n")]
    assert compare_cell(stdout("a\n"), stdout("a\n") + warning, TOL)
    error = [nbformat.v4.new_output("error", ename="AssertionError", evalue="claim", traceback=[])]
    assert compare_cell(stdout("a\n"), stdout("a\n") + error, TOL)


def test_figures_are_not_compared():
    fresh = result("<Figure>")
    fresh[0]["data"]["image/png"] = "different pixels"
    assert compare_cell(result("<Figure>"), fresh, TOL) == []


def test_images_inside_an_explorer_are_not_compared_but_its_text_is():
    saved = '<div><img src="data:image/png;base64,iVBORw0KGgo1234+/=" alt="next words"></div>'
    other_pixels = saved.replace("iVBORw0KGgo1234+/=", "iVBORw0KGgo9876AB==")
    assert compare_cell(result("<View>", saved), result("<View>", other_pixels), TOL) == []
    other_text = other_pixels.replace("next words", "previous words")
    assert compare_cell(result("<View>", saved), result("<View>", other_text), TOL)


def test_every_chapter_has_a_tolerance_at_least_its_measured_spread():
    """The tolerances were set from runs of every chapter under several kernel sets
    (scripts/notebook_spread.py); a tolerance below what was measured would fail on one of
    them, and every chapter must have been measured."""
    tolerances = load_tolerances()
    spread = json.loads((ROOT / "tests" / SPREAD_FILE_NAME).read_text())
    assert sorted(tolerances) == sorted(p.name for p in CHAPTERS) == sorted(spread)
    for name, tolerance in tolerances.items():
        sources = code_cell_sources(nbformat.read(ROOT / "chapters" / name, as_version=4))
        for cell, saved, difference in spread[name]["pairs"]:
            cell_tolerance = tolerance.for_cell(sources[cell])
            assert cell_tolerance.allows(saved, saved + difference), (name, cell, saved, difference, cell_tolerance)


def test_a_cell_can_have_a_wider_tolerance():
    tolerance = Tolerance(atol=0.01, cells=(("ner_table =", Tolerance(atol=0.1)),))
    assert tolerance.for_cell("x = 1\nner_table = run()").atol == 0.1
    assert tolerance.for_cell("other = 2").atol == 0.01


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_a_moved_result_still_fails(path):
    """Shift every number of a chapter's saved outputs by three times its tolerance, one
    cell at a time: each shift must be caught (a result that a library change moves beyond
    the measured noise cannot pass)."""
    saved = nbformat.read(path, as_version=4)
    chapter_tolerance = load_tolerances()[path.name]
    caught = checked = 0
    for index, cell in enumerate(saved.cells):
        if cell.cell_type != "code" or not any(o.output_type == "stream" and split_numbers(o.text)[1]
                                               for o in cell.get("outputs", [])):
            continue
        tolerance = chapter_tolerance.for_cell(cell.source)
        moved = nbformat.from_dict(json.loads(json.dumps(saved)))
        for output in moved.cells[index].outputs:
            if output.output_type == "stream":
                output.text = _shift_numbers(output.text, tolerance)
        checked += 1
        caught += bool(compare_notebooks(saved, moved, chapter_tolerance))
    assert checked and caught == checked


def _shift_numbers(text, tolerance):
    from notebook_outputs import NUMBER

    def shift(match):
        value = float(match.group())
        return repr(value + 3 * (tolerance.atol + tolerance.rtol * abs(value)) + 1e-9)

    return NUMBER.sub(shift, text)


def test_each_worker_starts_on_half_of_the_chapters_run_time():
    from notebook_outputs import order_for_two_workers

    minutes = {"ch4": 7, "ch7": 6, "ch6": 5, "ch2": 4, "ch3": 3, "ch1": 2}
    items = [*minutes, *(f"unit{i}" for i in range(20))]
    ordered = order_for_two_workers(items, lambda item: item in minutes, lambda item: minutes.get(item, 0))
    half = len(ordered) // 2
    first, second = ordered[:half], ordered[half:]  # what pytest-xdist's worksteal gives each worker
    assert sorted(ordered) == sorted(items)
    assert first[0] == "ch4" and second[0] == "ch7"  # both start on a long chapter
    assert abs(sum(minutes.get(i, 0) for i in first) - sum(minutes.get(i, 0) for i in second)) <= 2
    assert all(item in minutes for item in first[:3]) and all(item in minutes for item in second[:3])
