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


PMON = """\
# gpu         pid   type     sm    mem    enc    dec    jpg    ofa    command
# Idx           #    C/G      %      %      %      %      %      %    name
    0          -     -      -      -      -      -      -      -    -
    0        796     C     10      2      -      -      -      -    python3
    0        796     C     30      5      -      -      -      -    python3
    0        802     C      -      -      -      -      -      -    python3
    0        802     C     50      9      -      -      -      -    python3
"""


def test_gpu_busy_is_each_kernels_mean_sm_utilisation():
    assert gpu_run.gpu_busy_by_pid(PMON) == {796: pytest.approx(0.2), 802: pytest.approx(0.25)}


def test_t4_estimate_weighs_the_gpu_bound_part_only():
    results = {"environment": {"t4_factor": 10.0},
               "chapters": {"a": {"pid": 796, "seconds": 100.0}, "b": {"pid": 999, "seconds": 100.0},
                            "c": {"passed": False, "finished": False}}}
    chapters = gpu_run.fold_pmon(results, PMON)["chapters"]
    # 100 s, 20% of it GPU-bound: 80 s * HOST_SLOWDOWN + 20 s * 10
    assert chapters["a"]["t4_estimate_s"] == round(80 * gpu_run.HOST_SLOWDOWN + 200)
    assert chapters["a"]["t4_upper_s"] == 1000 and chapters["a"]["t4_within_budget"]
    assert "t4_estimate_s" not in chapters["b"] and chapters["b"]["t4_upper_s"] == 1000  # no samples: upper only
    assert "t4_upper_s" not in chapters["c"]  # an unfinished chapter has no time to scale


def _tiny_chapter(path: Path, body: str) -> Path:
    cells = [nbformat.v4.new_code_cell("from ptm_lib import runtime\nrt = runtime.setup()\n"
                                       "cfg = rt.preset(cpu={}, gpu={})"),
             nbformat.v4.new_code_cell(body)]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


def test_chapters_run_side_by_side_and_a_deadline_keeps_the_finished_ones(tmp_path):
    quick = _tiny_chapter(tmp_path / "quick.ipynb", "x = 1")
    slow = _tiny_chapter(tmp_path / "slow.ipynb", "import time\ntime.sleep(120)")
    results = gpu_run.main(["--allow-cpu", "--jobs", "2", "--deadline", "25", "--out", str(tmp_path / "run"),
                            "--results", str(tmp_path / "gpu.json"), str(quick), str(slow)])
    assert results["environment"]["concurrent_chapters"] == 2
    assert results["chapters"]["quick"]["passed"] and results["chapters"]["quick"]["scale"] == "gpu"
    assert results["chapters"]["slow"] == {"passed": False, "finished": False,
                                           "error": "not finished within the 25 s deadline"}
    assert json.loads((tmp_path / "gpu.json").read_text()) == results
