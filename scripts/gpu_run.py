"""Run every chapter's GPU preset and record what it cost and what it measured.

    make gpu                                   # or: python scripts/gpu_run.py
    python scripts/gpu_run.py chapters/05_attention_transformer.ipynb --results /tmp/r.json

Each chapter runs top to bottom with ``PTM_SCALE=gpu`` on CUDA, into ``_build/gpu/`` (the
committed notebooks keep their CPU outputs). For each chapter the results file
(``data/results/gpu_run.json`` by default, read by the performance appendix) records:
the wall time, the peak GPU memory, the automatic mixed-precision dtype, whether every
cell ran and every check passed (the first error if not), and the headline numbers that
the chapter's check cell asserts. It also records the GPU's name and the torch and CUDA
versions, and two estimates of the time on Colab's free T4:

    t4_upper_s    = seconds * max(FLOP/s ratio, memory-bandwidth ratio) of this GPU to a T4
    t4_estimate_s = seconds * ((1 - busy) * HOST_SLOWDOWN + busy * that ratio)

(dense fp16/bf16 tensor-core FLOP/s and memory bandwidth from the makers' data sheets, in
``GPUS``). The upper one treats the whole run as GPU-bound. But the book's models are small:
most of a chapter's time goes to Python, kernel launches and CPU work (tokenising, counting
n-grams, t-SNE), which a T4 does not slow down, though Colab's older CPU does
(``HOST_SLOWDOWN``, an assumption, 1.5). ``busy`` is the fraction of the chapter's time
in which the GPU ran its kernels, read from ``nvidia-smi pmon`` (``--pmon``: the kernel's
mean SM utilisation). A chapter whose estimate exceeds 10 minutes needs a smaller preset.

``--allow-cpu`` runs the same command without a GPU (the plumbing test does this with
``--until-preset``, which stops each chapter after the cell that picks its preset).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures import TimeoutError as FuturesTimeout
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script, scripts/ is not a package on the path
from scripts import results_file as results_io  # noqa: E402  (results_file is a parameter name here)
from scripts.execute_notebooks import kernel_environment  # noqa: E402

DEFAULT_RESULTS = ROOT / "data" / "results" / "gpu_run.json"
DEFAULT_OUT = ROOT / "_build" / "gpu"
REPORT_PREFIX = "PTM-GPU-REPORT "
T4_BUDGET_S = 600
HOST_SLOWDOWN = 1.5  # Colab's CPU against a current server's, for the part of a run the GPU waits on

# Dense half-precision tensor-core TFLOP/s and memory bandwidth in GB/s (data sheets).
GPUS = {
    "T4": (65, 320),
    "A100": (312, 2039),
    "L4": (121, 300),
    "H100": (989, 3350),
    "H200": (989, 4800),
}

# The numbers each chapter's check cell asserts, as an expression over the check cell's
# variables (evaluated in the chapter's kernel after the last cell).
HEADLINES = {
    "01_image_pretraining": '{"MNIST test accuracy": mnist_test_acc, '
                            '**{f"fine-tune minus scratch, {b} labels": '
                            'acc.loc["fine-tune", b] - acc.loc["scratch", b] '
                            'for b in budgets}}',
    "02_language_models": '{"NNLM test perplexity": nnlm_test, "Kneser-Ney 5-gram": ppl["Kneser–Ney 5-gram"], '
                          '"mixture": mixed_test}',
    "03_word2vec_glove": '{"skip-gram WS-353": ours["WS-353 ρ"], "gensim WS-353": reference_row["WS-353 ρ"], '
                         '"skip-gram analogy": ours["analogy accuracy"]}',
    "04_elmo": '{"forward perplexity": final_ppl["forward"], "backward perplexity": final_ppl["backward"], '
               '"unigram perplexity": unigram_ppl, "NER F1, word2vec + ELMo": f1["word2vec + ELMo ScalarMix"]}',
    "05_attention_transformer": '{"delay-5 copy accuracy": copy_acc, '
                                '**{f"{model}, delay {d}": reach.loc[d, model] for model in reach.columns '
                                'for d in (min(cfg.delays), max(cfg.delays))}}',
    "06_gpt": '{**{f"{kind}, pretrained GPT": accuracy.loc[kind, "pretrained GPT"] for kind in accuracy.index}, '
              '"zero-shot multiple choice": zero_shot}',
    "07_bert": '{"masked-LM accuracy": final.mlm_accuracy, "NSP accuracy": final.nsp_accuracy, '
               '**{f"{family}, our BERT": families.loc[family, "our BERT"] for family in families.index}}',
    "08_what_made_bert_work": '{f"{family}, {name}": scores["mean"][family][name] for family in ("topic", "spans") '
                              'for name in ("MLM + NSP", "MLM (no NSP)", "LTR (no NSP)", "LTR + BiLSTM")}',
}

REPORT_CELL = """\
import json as _json, torch as _torch
from ptm_lib.train import amp_dtype as _amp_dtype
_report = {{"pid": __import__("os").getpid(), "device": rt.device.type, "scale": rt.scale,
           "amp_dtype": str(_amp_dtype(rt.device, "auto")),
           "peak_gpu_mib": (round(_torch.cuda.max_memory_allocated() / 2**20, 1)
                            if _torch.cuda.is_available() else None)}}
try:
    _report["headline"] = {{key: round(float(value), 4) for key, value in ({headline}).items()}}
except Exception as _error:
    _report["headline_error"] = repr(_error)
print({prefix!r} + _json.dumps(_report))
"""


def gpu_name() -> str | None:
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def t4_factor(name: str | None) -> float | None:
    """How many times slower a T4 is than the GPU called ``name`` (the larger of the FLOP/s
    and bandwidth ratios), or None for a GPU not in ``GPUS``."""
    if not name:
        return None
    for model, (flops, bandwidth) in GPUS.items():
        if model in name.upper():
            return max(flops / GPUS["T4"][0], bandwidth / GPUS["T4"][1])
    return None


def preset_cell_index(notebook: nbformat.NotebookNode) -> int:
    """The index of the cell that picks the chapter's preset (``cfg = rt.preset(``)."""
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and "rt.preset(" in cell.source:
            return index
    raise ValueError("the chapter has no cell that calls rt.preset(...)")


def run_chapter(path: Path, out: Path, until_preset: bool = False, timeout: int = 3600) -> dict:
    """Execute one chapter with the GPU preset into ``out``; return its record."""
    notebook = nbformat.read(path, as_version=4)
    if until_preset:
        notebook.cells = notebook.cells[: preset_cell_index(notebook) + 1]
    headline = HEADLINES.get(path.stem, "{}") if not until_preset else "{}"
    notebook.cells.append(nbformat.v4.new_code_cell(REPORT_CELL.format(headline=headline, prefix=REPORT_PREFIX)))
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    nbformat.write(notebook, out / path.name)
    return {"seconds": round(seconds, 1), **read_report(notebook)}


def read_report(notebook: nbformat.NotebookNode) -> dict:
    """The report cell's record, with ``passed`` and the first error of any cell."""
    record: dict = {"passed": True}
    for number, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "error" and record["passed"]:
                record.update(passed=False, error=f"cell {number}: {output.ename}: {output.evalue}"[:500])
            if output.output_type == "stream" and REPORT_PREFIX in output.text:
                line = next(text for text in output.text.splitlines() if text.startswith(REPORT_PREFIX))
                record.update(json.loads(line[len(REPORT_PREFIX):]))
    return record


def environment() -> dict:
    import torch

    name = gpu_name()
    return {"gpu": name, "torch": torch.__version__, "cuda": torch.version.cuda, "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(), "t4_factor": t4_factor(name),
            "date": time.strftime("%Y-%m-%d")}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every chapter")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the executed copies go")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="the results file to write")
    parser.add_argument("--allow-cpu", action="store_true", help="run without a GPU (testing the plumbing)")
    parser.add_argument("--amp", choices=["bf16", "fp16", "off"], help="force a mixed precision (PTM_AMP)")
    parser.add_argument("--until-preset", action="store_true", help="stop each chapter after its preset cell")
    parser.add_argument("--jobs", type=int, default=1,
                        help="chapters run at once, each in its own kernel (their times then share the GPU)")
    parser.add_argument("--deadline", type=float, default=None,
                        help="seconds after which unfinished chapters are stopped and recorded as not finished")
    parser.add_argument("--pmon", action="store_true",
                        help="sample the GPU's per-process utilisation (nvidia-smi pmon) for the T4 estimates")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    if gpu_name() is None and not args.allow_cpu:
        parser.error("no CUDA GPU here: this command runs the GPU presets (pass --allow-cpu to test its plumbing)")
    if args.out.resolve() == (ROOT / "chapters").resolve():
        parser.error("--out must not be chapters/: the committed notebooks keep their CPU outputs")
    notebooks = args.notebooks or sorted((ROOT / "chapters").glob("[0-9]*.ipynb"))
    settings = {"PTM_SCALE": "gpu", "PTM_PROGRESS": "0", "PTM_STATIC": "1"}
    if args.amp:
        settings["PTM_AMP"] = args.amp
    if args.allow_cpu and gpu_name() is None:
        settings["PTM_DEVICE"] = "cpu"
    with kernel_environment(settings):
        if not args.pmon:
            return run_all(notebooks, args.out, args.results, args.until_preset, args.jobs, args.deadline)
        import subprocess

        log = args.out / "pmon.log"
        args.out.mkdir(parents=True, exist_ok=True)
        with log.open("w") as sink:
            sampler = subprocess.Popen(["nvidia-smi", "pmon", "-s", "u", "-d", "1"], stdout=sink)
            try:
                results = run_all(notebooks, args.out, args.results, args.until_preset, args.jobs, args.deadline)
            finally:
                sampler.terminate()
        results = fold_pmon(results, log.read_text())
        results_io.save(args.results, results)
        return results


def run_all(notebooks: list[Path], out: Path, results_file: Path, until_preset: bool, jobs: int = 1,
            deadline: float | None = None) -> dict:
    """Run the chapters, ``jobs`` at a time, writing the results file after each one.

    With ``deadline`` (seconds), chapters still running then are stopped (their kernels
    with them) and recorded as not finished, so that a time-limited GPU lease still
    brings back every finished chapter's record."""
    out.mkdir(parents=True, exist_ok=True)
    results = {"environment": {**environment(), "concurrent_chapters": min(jobs, len(notebooks))}, "chapters": {}}
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork"))
    futures = {pool.submit(run_chapter, path, out, until_preset): path for path in notebooks}
    try:
        for future in as_completed(futures, timeout=deadline):
            record_chapter(results, futures[future].stem, future.result(), results_file)
    except FuturesTimeout:
        for future, path in futures.items():
            if path.stem not in results["chapters"]:
                record_chapter(results, path.stem, {"passed": False, "finished": False,
                                                    "error": f"not finished within the {deadline:.0f} s deadline"},
                               results_file)
        for process in list(pool._processes.values()):  # the workers and, below them, their kernels
            _kill_tree(process.pid)
    pool.shutdown(wait=False, cancel_futures=True)
    return results


def record_chapter(results: dict, name: str, record: dict, results_file: Path) -> None:
    """Add one chapter's record (with its T4 estimate) and rewrite the results file."""
    add_t4_estimates(record, results["environment"]["t4_factor"])
    results["chapters"][name] = record
    print(f"{name}: {json.dumps(record)}", flush=True)
    results_io.save(results_file, results)


def add_t4_estimates(record: dict, factor: float | None) -> None:
    """Add the T4 estimates (module docstring) to a chapter's record, in place."""
    if factor is None or "seconds" not in record:
        return
    record["t4_upper_s"] = round(record["seconds"] * factor)
    busy = record.get("gpu_busy")
    if busy is not None:
        record["t4_estimate_s"] = round(record["seconds"] * ((1 - busy) * HOST_SLOWDOWN + busy * factor))
        record["t4_within_budget"] = record["t4_estimate_s"] <= T4_BUDGET_S


def gpu_busy_by_pid(pmon_log: str) -> dict[int, float]:
    """The mean SM utilisation (0-1) of each process in an ``nvidia-smi pmon -s u`` log."""
    samples: dict[int, list[int]] = {}
    for line in pmon_log.splitlines():
        fields = line.split()
        if line.startswith("#") or len(fields) < 4 or not fields[1].isdigit():
            continue
        samples.setdefault(int(fields[1]), []).append(int(fields[3]) if fields[3].isdigit() else 0)
    return {pid: sum(values) / len(values) / 100 for pid, values in samples.items()}


def fold_pmon(results: dict, pmon_log: str) -> dict:
    """Give each chapter its ``gpu_busy`` (its kernel's mean SM utilisation) and estimates."""
    busy = gpu_busy_by_pid(pmon_log)
    for record in results["chapters"].values():
        if record.get("pid") in busy:
            record["gpu_busy"] = round(busy[record["pid"]], 3)
        add_t4_estimates(record, results["environment"]["t4_factor"])
    return results


def _kill_tree(pid: int) -> None:
    """Kill ``pid`` and every process below it (a worker and the kernel it started)."""
    import psutil

    try:
        parent = psutil.Process(pid)
        for process in [*parent.children(recursive=True), parent]:
            process.kill()
    except psutil.NoSuchProcess:
        pass


if __name__ == "__main__":
    main()
