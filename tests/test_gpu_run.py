"""The plumbing of ``make gpu`` (scripts/gpu_run.py), tested without a GPU: every chapter's
GPU preset must at least be picked (its cell runs under PTM_SCALE=gpu), the executed copies
must land outside chapters/, and the results file must carry what the appendix reads."""

import json
import os
from pathlib import Path

import nbformat
import pytest

from scripts import gpu_run

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9]*.ipynb"))


def test_every_chapter_has_a_headline_and_a_preset_cell():
    assert sorted(gpu_run.HEADLINES) == [path.stem for path in CHAPTERS]
    for path in CHAPTERS:
        gpu_run.preset_cell_index(nbformat.read(path, as_version=4))


def test_every_gpu_preset_is_picked_and_recorded(tmp_path):
    before = {key: os.environ.get(key) for key in ("PTM_SCALE", "PTM_DEVICE", "PTM_AMP", "PTM_STATIC")}
    results = gpu_run.main(["--allow-cpu", "--until-preset", "--out", str(tmp_path / "run"),
                            "--results", str(tmp_path / "gpu.json"), *map(str, CHAPTERS)])
    assert json.loads((tmp_path / "gpu.json").read_text()) == results
    assert sorted(results["chapters"]) == [path.stem for path in CHAPTERS]
    for name, record in results["chapters"].items():
        assert record["passed"], (name, record.get("error"))
        assert record["scale"] == "gpu" and record["device"] == "cpu" and record["amp_dtype"] == "None", record
        assert record["seconds"] > 0 and record["headline"] == {}
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [p.name for p in CHAPTERS]
    assert {"gpu", "torch", "cuda", "t4_factor"} <= set(results["environment"])
    # the caller's environment is left as it was (a test worker goes on to run chapters
    # with the CPU preset)
    assert {key: os.environ.get(key) for key in before} == before


def test_refuses_chapters_as_the_output_folder_and_a_missing_gpu(monkeypatch):
    with pytest.raises(SystemExit):
        gpu_run.main(["--allow-cpu", "--out", str(ROOT / "chapters")])
    monkeypatch.setattr(gpu_run, "gpu_name", lambda: None)
    with pytest.raises(SystemExit):
        gpu_run.main([])


def test_a_failed_check_is_recorded_not_lost():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("assert 1 == 2, 'claim'")])
    notebook.cells[0].outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="claim", traceback=[])]
    report = nbformat.v4.new_code_cell("")
    report.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                             text=gpu_run.REPORT_PREFIX + '{"peak_gpu_mib": 12.5}\n')]
    notebook.cells.append(report)
    assert gpu_run.read_report(notebook) == {"passed": False, "error": "cell 0: AssertionError: claim",
                                             "peak_gpu_mib": 12.5}


def test_t4_estimate_uses_the_larger_ratio():
    assert gpu_run.t4_factor("NVIDIA H100 80GB HBM3") == pytest.approx(max(989 / 65, 3350 / 320))
    assert gpu_run.t4_factor("Tesla T4") == 1.0
    assert gpu_run.t4_factor("Some Future GPU") is None and gpu_run.t4_factor(None) is None
