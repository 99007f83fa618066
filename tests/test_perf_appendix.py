"""The performance appendix (chapters/appendix_performance.md and chapters/figures/perf_*.svg) is what
scripts/perf_appendix.py makes from the committed results files and the chapters' saved runs: a
stale page or figure fails here. The page shows every chapter's CPU time, the CPU MFU figures,
and a GPU section exactly when a GPU results file exists; the CPU benchmarks' plumbing (the
matmul that the CPU MFU divides by, the profile's operator groups) is checked without running
the benchmarks."""

import json
import re
import xml.etree.ElementTree as ET

import pytest
import yaml

from benchmarks import gpt
from scripts import cpu_benchmarks, perf_appendix

ROOT = perf_appendix.ROOT


@pytest.fixture(scope="module")
def rendered():
    return perf_appendix.render()


def page_of(files) -> str:
    return files[perf_appendix.PAGE].decode()


def test_committed_page_and_figures_are_what_the_script_makes(rendered):
    stale = perf_appendix.stale(rendered)
    assert not stale, f"stale: {stale}; run python scripts/perf_appendix.py (never edit the page by hand)"


def test_rendering_twice_gives_the_same_bytes(rendered):
    again = perf_appendix.render()
    assert again.keys() == rendered.keys()
    assert all(again[k] == rendered[k] for k in rendered), "the SVG output is not deterministic"


def test_page_is_in_the_table_of_contents_after_the_data_appendix():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    appendices = next(p for p in toc["parts"] if p["caption"] == "Appendices")
    files = [c["file"] for c in appendices["chapters"]]
    assert files.index("chapters/appendix_performance") == files.index("chapters/appendix_data") + 1


def test_page_shows_every_chapters_cpu_time(rendered):
    page = page_of(rendered)
    times = perf_appendix.chapter_times()
    assert len(times) == len(list((ROOT / "chapters").glob("[0-9]*.ipynb")))
    for t in times:
        row = f"| {t['number']}. {t['title']} | {t['cells']} | {t['seconds'] / 60:.1f} |"
        assert row in page, f"chapter {t['number']}'s CPU time is missing: {row}"
    assert "figures/perf_chapter_times.svg" in page


def test_page_reports_the_cpu_mfu_of_gpt_and_bert(rendered):
    page = page_of(rendered)
    cpu = perf_appendix.load_results()["cpu"]
    assert cpu is not None, "data/results/cpu_benchmarks.json is missing: run python scripts/cpu_benchmarks.py"
    assert "## How close to the machine's limit: CPU MFU" in page
    gpt1 = perf_appendix.runs_by(cpu, "gpt")[1]
    bert1 = perf_appendix.runs_by(cpu, "bert")[1]
    assert f"a CPU MFU of {gpt1['ours']['cpu_mfu']:.0%}" in page
    assert f"our BERT's {bert1['ours']['train_cpu_mfu']:.0%} in training" in page


def test_every_figure_is_linked_and_names_its_hardware(rendered):
    page = page_of(rendered)
    figures = [p for p in rendered if p.startswith("figures/")]
    assert len(figures) >= 6
    for path in figures:
        assert f"```{{figure}} {path}" in page
        caption = page.split(f"```{{figure}} {path}", 1)[1].split("```", 1)[0]
        assert re.search(r"EPYC|Intel|AMD|H200|H100|A100|T4|L4|cpu|GPU", caption), f"{path}: caption names no hardware"
        ET.fromstring(rendered[path])  # parses as XML


def test_gpu_section_exactly_when_a_gpu_results_file_exists(tmp_path):
    results = perf_appendix.load_results()
    assert results["gpu_run"] is not None
    times = perf_appendix.chapter_times()
    page, figures = perf_appendix.build(results, times)
    assert "## GPU results" in page and "perf_gpu_chapters.svg" in figures and "perf_amp.svg" in figures
    for chapter, why in results["gpu_run"].get("not_run", {}).items():
        assert f"chapter {int(chapter[:2])}, {why}" in page
    without = perf_appendix.build({**results, "gpu_run": None, "gpu_benchmarks": None}, times)
    assert "## GPU results" not in without[0] and "perf_amp.svg" not in without[1]
    for fig in [*figures.values(), *without[1].values()]:
        perf_appendix.plt.close(fig)


def test_prose_numbers_come_from_the_results(rendered):
    """Spot checks: the figures the text quotes are the results files' figures."""
    page = page_of(rendered)
    gpu = perf_appendix.load_results()["gpu_benchmarks"]
    assert f"{gpu['word2vec']['speed_ratio']:.2f}× gensim's" in page
    bf16 = next(r for r in gpu["amp"] if r["amp"] == "bf16" and r["seed"] == 0)
    assert f"{bf16['held_out_perplexity']:.2f}" in page


def test_matmul_rate_is_a_positive_gflops():
    assert gpt.matmul_gflops(64, repeats=2, warmup=1) > 0
    assert gpt.cpu_matmul(gpt.torch.device("cpu"), 0) is None


GROUPED = [("aten::mm", "matrix multiplies"), ("aten::addmm", "matrix multiplies"),
           ("aten::_scaled_dot_product_flash_attention_for_cpu", "attention"), ("aten::_log_softmax", "cross-entropy"),
           ("aten::addcdiv_", "other"), ("aten::native_layer_norm_backward", "layer norm"), ("aten::gelu", "GELU"),
           ("aten::embedding_dense_backward", "embeddings and gathers"), ("aten::add_", "other")]


@pytest.mark.parametrize("op, group", GROUPED)
def test_profile_groups(op, group):
    assert cpu_benchmarks.group_of(op) == group


def test_cpu_results_record_the_hardware():
    cpu = json.loads((ROOT / "data" / "results" / "cpu_benchmarks.json").read_text())
    for key in ("cpu", "cores", "avx2", "avx512", "torch"):
        assert key in cpu["hardware"]
