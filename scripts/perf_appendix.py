"""Write the performance appendix (chapters/appendix_performance.md and its figures) from the results files.

    python scripts/perf_appendix.py            # rewrite the page and chapters/figures/perf_*.svg
    python scripts/perf_appendix.py --check    # exit 1 if the committed page or a figure is stale
    python scripts/perf_appendix.py --measure  # first re-measure the CPU figures (scripts/cpu_benchmarks.py)

Nothing is measured by default. The page is made from what is committed:

* ``data/results/cpu_benchmarks.json`` (``scripts/cpu_benchmarks.py``): this machine's
  hardware, our GPT and BERT against ``transformers`` with the CPU MFU, a profile of the
  training step, every model's throughput on one and two threads, word2vec against gensim;
* ``data/results/gpu_run.json`` and ``gpu_benchmarks.json`` (``scripts/gpu_run.py``,
  ``scripts/gpu_benchmarks.py``): the chapters' GPU presets, the GPU benchmarks and the
  mixed-precision runs. Without them the page has no GPU section;
* the chapters' saved notebooks: each code cell's ``metadata.execution`` timestamps give the
  time each chapter took when it was last executed on the CPU (``make execute``).

Every number in the page's prose is formatted here from those files, so the text cannot
disagree with them. The SVG files are deterministic (``svg.hashsalt``, no date), so a rerun
on the same files writes the same bytes and ``--check`` can compare them.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script, scripts/ is not a package on the path
from scripts.execute_notebooks import cell_spans  # noqa: E402
from scripts.gpu_run import T4_BUDGET_S  # noqa: E402  (a chapter's GPU preset: about 10 minutes on a T4)

RESULTS = ROOT / "data" / "results"
CHAPTERS = ROOT / "chapters"
PAGE = "appendix_performance.md"
FIGURE_PREFIX = "perf_"
CPU_BUDGET_MIN = 5  # DESIGN.md: each chapter's CPU run stays within about 5 minutes
WORD2VEC_GPU_AIM = 10  # the aim for our word2vec on a GPU: ten times gensim on the CPU
STYLE = {
    "svg.hashsalt": "ptm-book-performance",
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
}
OURS, THEIRS = "#1f5fa8", "#d9822b"


# --- reading ---

def load_results(folder: Path = RESULTS) -> dict:
    """``{"cpu", "gpu_run", "gpu_benchmarks"}``: each results file's JSON, or None where it is missing."""
    def read(name: str) -> dict | None:
        path = folder / name
        return json.loads(path.read_text()) if path.exists() else None
    return {"cpu": read("cpu_benchmarks.json"), "gpu_run": read("gpu_run.json"),
            "gpu_benchmarks": read("gpu_benchmarks.json")}


def chapter_times(folder: Path = CHAPTERS) -> list[dict]:
    """Each chapter notebook's last CPU execution: the sum of its code cells' times (from
    ``metadata.execution``), its start and end, and how many chapters ran at once at most
    while it ran (1: alone)."""
    rows = []
    for path in sorted(folder.glob("[0-9]*.ipynb")):
        notebook = json.loads(path.read_text())
        title = next((line[2:].strip() for cell in notebook["cells"] if cell["cell_type"] == "markdown"
                      for line in "".join(cell["source"]).splitlines() if line.startswith("# ")), path.stem)
        spans = cell_spans(notebook)
        if not spans:
            continue
        rows.append({"chapter": path.stem, "number": int(path.stem[:2]), "title": title, "cells": len(spans),
                     "seconds": sum((b - a).total_seconds() for a, b in spans),
                     "start": spans[0][0], "end": spans[-1][1], "cpu": run_cpu(notebook)})
    for row in rows:  # concurrency: at each start inside this run, count the runs under way
        moments = [row["start"]] + [r["start"] for r in rows if row["start"] < r["start"] < row["end"]]
        row["at_once"] = max(sum(r["start"] <= t < r["end"] for r in rows) for t in moments)
    return rows


def run_cpu(notebook: dict) -> str:
    """The machine a saved run names (``metadata.ptm_run``, written by
    scripts/execute_notebooks.py), as :func:`cpu_name` words it; runs saved before it
    recorded one say so."""
    found = notebook.get("metadata", {}).get("ptm_run", {}).get("machine")
    return cpu_name({"hardware": found}) if found else "not recorded"


# --- formatting ---

def cpu_name(cpu: dict) -> str:
    hw = cpu["hardware"]
    vector = "AVX-512" if hw["avx512"] else ("AVX2, no AVX-512" if hw["avx2"] else "no AVX2")
    return f"{hw['cpu']}, {hw['cores']} cores ({vector}), torch {hw['torch']}"


def gpu_name(environment: dict) -> str:
    return f"{environment['gpu']}, torch {environment['torch']}, CUDA {environment['cuda']}"


def fmt(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}"


def thousands(x: float) -> str:
    return f"{x:,.0f}"


def rate(x: float) -> str:
    """A rate in words: 1.2M, 45k, 950."""
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    if x >= 1e4:
        return f"{x / 1e3:.0f}k"
    if x >= 1e3:
        return f"{x / 1e3:.1f}k"
    return f"{x:.0f}"


def two_thread_note(*runs: dict[int, dict]) -> str:
    """A sentence on the two-thread CPU MFU, which a busy machine pulls down (the runs' cpu_share)."""
    shares = [rs[2]["cpu_share"] for rs in runs if 2 in rs and "cpu_share" in rs[2]]
    gains = [rs[2]["matmul"]["gflops"] / rs[1]["matmul"]["gflops"] for rs in runs if 1 in rs and 2 in rs]
    if not shares or not gains:
        return ""
    return (f" On two threads the matmul rate rises {min(gains):.1f}× to {max(gains):.1f}× but the models' "
            f"rates do not follow: those runs got "
            f"{min(shares):.0%} to {max(shares):.0%} of their two cores, and at these sizes a step's small operators "
            "split poorly, so their CPU MFU falls.")


def display(name: str) -> str:
    """A GPU benchmark's name as the page prints it: ``gpt, GPT-2 small`` -> ``GPT, GPT-2 small``."""
    model, _, rest = name.partition(", ")
    return ", ".join(filter(None, [{"gpt": "GPT", "bert": "BERT"}.get(model, model), rest]))


def and_list(items: list) -> str:
    items = [str(i) for i in items]
    return " and ".join(items) if len(items) < 3 else ", ".join(items[:-1]) + " and " + items[-1]


def share(run: dict) -> str:
    """The share of its cores a CPU run got (``cpu_share``), as a percentage, or blank."""
    return f"{run['cpu_share']:.0%}" if "cpu_share" in run else ""


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def figure(name: str, label: str, caption: str) -> str:
    return f"```{{figure}} figures/{name}\n:name: {label}\n:width: 100%\n\n{caption}\n```"


def runs_by(cpu: dict | None, name: str) -> dict[int, dict]:
    """The CPU transformers runs of ``name`` (gpt or bert) by thread count, failures left out."""
    if not cpu or "transformers" not in cpu:
        return {}
    return {r["threads"]: r for r in cpu["transformers"] if r.get("name") == name and "error" not in r}


def gpu_runs(gpu: dict | None, name: str) -> list[dict]:
    if not gpu:
        return []
    return [r for r in gpu.get("benchmarks", []) if r.get("name", "").startswith(name) and "error" not in r]


# --- figures ---

def fig_chapter_times(times: list[dict], hardware: str):
    fig, ax = plt.subplots(figsize=(6.4, 2.9), layout="constrained")
    labels = [f"{t['number']}" for t in times]
    minutes = [t["seconds"] / 60 for t in times]
    colours = [OURS if m <= CPU_BUDGET_MIN else THEIRS for m in minutes]
    bars = ax.bar(labels, minutes, color=colours)
    ax.bar_label(bars, [f"{m:.1f}" for m in minutes], padding=2, fontsize=8)
    ax.axhline(CPU_BUDGET_MIN, color="grey", ls="--", lw=1, label=f"budget: {CPU_BUDGET_MIN} min")
    ax.legend(fontsize=8, loc="upper left")
    ax.set_xlabel("chapter")
    ax.set_ylabel("minutes")
    ax.set_ylim(0, max(minutes) * 1.15)
    ax.set_title(f"Chapter run times, CPU preset, one thread\n{hardware}", fontsize=9)
    return fig


def fig_throughput(rows: list[dict], hardware: str):
    fig, ax = plt.subplots(figsize=(6.4, 5.0), layout="constrained")
    colours = plt.get_cmap("tab10").colors
    markers = {"tokens": "o", "images": "s", "cells": "^"}
    models = list(dict.fromkeys(r["model"] for r in rows))
    for k, model in enumerate(models):
        runs = sorted((r for r in rows if r["model"] == model), key=lambda r: r["threads"])
        colour = colours[k % 10]
        ax.plot([r["params"] for r in runs], [r["rate"] for r in runs], color=colour, lw=0.8)
        for r in runs:
            ax.scatter(r["params"], r["rate"], marker=markers.get(r["unit"], "o"), s=40, edgecolors=colour,
                       facecolors=colour if r["threads"] == 1 else "white", zorder=3,
                       label=f"{model} (ch. {r['chapter']}, {r['unit']}/s)" if r["threads"] == 1 else None)
    ax.scatter([], [], marker="o", s=40, facecolors="grey", edgecolors="grey", label="filled: 1 thread")
    ax.scatter([], [], marker="o", s=40, facecolors="white", edgecolors="grey", label="hollow: 2 threads")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel("training items per second")
    ax.set_title(f"Training throughput at each chapter's CPU preset\n{hardware}", fontsize=9)
    fig.legend(fontsize=7, loc="outside lower center", ncol=2)
    ax.margins(x=0.15, y=0.15)
    return fig


def fig_ratios(cpu: dict | None, gpu: dict | None, cpu_hw: str, gpu_hw: str | None):
    panels = []
    rows = []
    for name in ("gpt", "bert"):
        for threads, run in sorted(runs_by(cpu, name).items()):
            suffix = f"{threads} thr."
            if name == "gpt":
                rows.append((f"GPT train, {suffix}", run["ratio"]))
            else:
                rows += [(f"BERT train, {suffix}", run["train_ratio"]), (f"BERT infer, {suffix}", run["infer_ratio"])]
    if rows:
        panels.append((f"CPU: {cpu_hw}", rows))
    rows = []
    for run in gpu_runs(gpu, "gpt"):
        rows.append((f"GPT train, {run['name'].split(', ', 1)[1]}", run["ratio"]))
    for run in gpu_runs(gpu, "bert"):
        shape = run["name"].split(", ", 1)[1]
        rows += [(f"BERT train, {shape}", run["train_ratio"]), (f"BERT infer, {shape}", run["infer_ratio"])]
    if rows:
        panels.append((f"GPU: {gpu_hw}", rows))
    fig, axes = plt.subplots(len(panels), 1, figsize=(6.4, 1.0 + 0.32 * sum(len(p[1]) for p in panels)),
                             layout="constrained", squeeze=False)
    for ax, (title, rows) in zip(axes[:, 0], panels):
        names, values = zip(*rows)
        bars = ax.barh(range(len(rows)), values, color=[OURS if v >= 1 else THEIRS for v in values])
        ax.bar_label(bars, [f"{v:.2f}×" for v in values], padding=2, fontsize=8)
        ax.set_yticks(range(len(rows)), names, fontsize=8)
        ax.invert_yaxis()
        ax.axvline(1, color="black", lw=1)
        ax.set_xlim(0, max(values) * 1.2)
        ax.set_title(title, fontsize=9)
    axes[-1, 0].set_xlabel("our tokens/s ÷ transformers' tokens/s (right of 1: ours is faster)")
    return fig


def fig_mfu(cpu: dict, hardware: str):
    rows = []
    for name in ("gpt", "bert"):
        for threads, run in sorted(runs_by(cpu, name).items()):
            if name == "gpt":
                rows.append((f"GPT train, {threads} thr.", run["ours"]["cpu_mfu"], run["hf"]["cpu_mfu"]))
            else:
                for kind in ("train", "infer"):
                    rows.append((f"BERT {kind}, {threads} thr.", run["ours"][f"{kind}_cpu_mfu"],
                                 run["hf"][f"{kind}_cpu_mfu"]))
    fig, ax = plt.subplots(figsize=(6.4, 1.0 + 0.42 * len(rows)), layout="constrained")
    y = range(len(rows))
    names, ours, theirs = zip(*rows)
    a = ax.barh([i - 0.2 for i in y], ours, height=0.4, color=OURS, label="ours")
    b = ax.barh([i + 0.2 for i in y], theirs, height=0.4, color=THEIRS, label="transformers")
    ax.bar_label(a, [f"{v:.0%}" for v in ours], padding=2, fontsize=7)
    ax.bar_label(b, [f"{v:.0%}" for v in theirs], padding=2, fontsize=7)
    ax.set_yticks(list(y), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("model FLOP/s ÷ the same machine's float32 matmul FLOP/s (CPU MFU)")
    ax.set_title(f"CPU MFU at the book's CPU shapes\n{hardware}", fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    return fig


def fig_profile(profiles: list[dict], hardware: str):
    groups = []
    for p in profiles:
        groups += [g for g in p["groups"] if g not in groups]
    fig, ax = plt.subplots(figsize=(6.4, 3.0), layout="constrained")
    colours = plt.get_cmap("tab10").colors
    names = [p["model"].upper() for p in profiles]
    left = [0.0] * len(profiles)
    for k, group in enumerate(groups):
        shares = [p["groups"].get(group, 0.0) for p in profiles]
        ax.barh(names, shares, left=left, color=colours[k % 10], label=group)
        for i, s in enumerate(shares):
            if s >= 0.06:
                ax.text(left[i] + s / 2, i, f"{s:.0%}", ha="center", va="center", fontsize=7, color="white")
        left = [a + b for a, b in zip(left, shares)]
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of the operators' self time in one training step")
    ax.set_title(f"Where a training step's time goes (one thread)\n{hardware}", fontsize=9)
    fig.legend(fontsize=7, ncol=4, loc="outside lower center")
    return fig


def fig_word2vec(settings: list[tuple[str, dict]]):
    fig, axes = plt.subplots(1, 3, figsize=(6.4, 2.9), layout="constrained")
    x = range(len(settings))
    for ax, (key, title) in zip(axes, (("words_per_s", "words/s"), ("ws353", "WS-353 Spearman"),
                                       ("analogy", "analogy accuracy"))):
        ours = [s["ours"][key] for _, s in settings]
        theirs = [s["gensim"][key] for _, s in settings]
        a = ax.bar([i - 0.2 for i in x], ours, width=0.4, color=OURS, label="ours")
        b = ax.bar([i + 0.2 for i in x], theirs, width=0.4, color=THEIRS, label="gensim")
        ax.set_xticks(list(x), [label.replace(", ", "\n").replace(" vs ", "\nvs ") for label, _ in settings],
                      fontsize=7)
        ax.set_title(title, fontsize=9)
        if key == "words_per_s":
            ax.set_yscale("log")
            ax.set_ylim(min(ours + theirs) / 10, max(ours + theirs) * 3)
            ax.bar_label(a, [rate(v) for v in ours], fontsize=6, padding=1)
            ax.bar_label(b, [rate(v) for v in theirs], fontsize=6, padding=1)
        else:
            ax.set_ylim(0, max(ours + theirs) * 1.2)
    axes[0].legend(fontsize=7)
    fig.suptitle("word2vec skip-gram at equal wall-clock time", fontsize=9)
    return fig


def fig_amp(amp: list[dict], hardware: str):
    fig, axes = plt.subplots(1, 2, figsize=(6.4, 3.0), layout="constrained", width_ratios=(3, 2))
    styles = {("bf16", 0): "-", ("bf16", 1): "--", ("fp16", 0): ":", ("off", 0): "-."}
    colours = plt.get_cmap("tab10").colors
    labels, finals = [], []
    for k, run in enumerate(r for r in amp if "error" not in r):
        label = f"{'fp32' if run['amp'] == 'off' else run['amp']}, seed {run['seed']}"
        steps, losses = zip(*run["train_loss"])
        axes[0].plot(steps, losses, ls=styles.get((run["amp"], run["seed"]), "-"), lw=1.2, color=colours[k],
                     label=label)
        labels.append(label.replace(", ", "\n"))
        finals.append(run["held_out_perplexity"])
        axes[1].scatter([k], [run["held_out_perplexity"]], color=colours[k], s=36, zorder=3)
        axes[1].annotate(f"{run['held_out_perplexity']:.2f}", (k, run["held_out_perplexity"]), fontsize=7,
                         xytext=(0, 6), textcoords="offset points", ha="center")
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("training loss (nats)")
    axes[0].legend(fontsize=7)
    axes[1].set_xticks(range(len(labels)), labels, fontsize=7)
    axes[1].set_ylabel("held-out perplexity after training")
    spread = max(finals) - min(finals)
    axes[1].set_ylim(min(finals) - spread, max(finals) + spread)
    axes[1].set_xlim(-0.5, len(labels) - 0.5)
    fig.suptitle(f"The chapter-6 GPU preset GPT in four precisions\n{hardware}", fontsize=9)
    return fig


def fig_gpu_chapters(gpu_run: dict, hardware: str):
    chapters = gpu_run["chapters"]
    names = sorted(chapters)
    fig, ax = plt.subplots(figsize=(6.4, 1.2 + 0.45 * len(names)), layout="constrained")
    y = range(len(names))
    h200 = [chapters[n].get("seconds", chapters[n].get("seconds_at_least", 0)) for n in names]
    t4 = [chapters[n].get("t4_estimate_s", chapters[n].get("t4_estimate_at_least_s", 0)) for n in names]
    a = ax.barh([i - 0.2 for i in y], h200, height=0.4, color=OURS, label=hardware.split(",")[0])
    b = ax.barh([i + 0.2 for i in y], t4, height=0.4, color=THEIRS, label="T4 estimate")
    unfinished = [not chapters[n].get("finished", True) for n in names]
    ax.bar_label(a, [f"≥{v:.0f}" if u else f"{v:.0f}" for v, u in zip(h200, unfinished)], padding=2, fontsize=7)
    ax.bar_label(b, [f"≥{v:.0f}" if u else f"{v:.0f}" for v, u in zip(t4, unfinished)], padding=2, fontsize=7)
    ax.axvline(T4_BUDGET_S, color="grey", ls="--", lw=1, label=f"T4 budget: {T4_BUDGET_S // 60} min")
    labels = [f"ch. {int(n[:2])} " + ("passed" if chapters[n].get("passed") else "failed" if
                                      chapters[n].get("finished", True) else "unfinished") for n in names]
    ax.set_yticks(list(y), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("seconds")
    ax.set_xlim(0, max(t4 + [T4_BUDGET_S]) * 1.15)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(f"Chapters' GPU presets: time on the GPU and on a T4 (estimated)\n{hardware}", fontsize=9)
    return fig


# --- the page ---

def error_summary(error: str) -> str:
    """A multi-line error (an assertion that printed a table) on one line, pandas' footer dropped."""
    lines = [" ".join(line.split()) for line in error.splitlines()]
    return "; ".join(line for line in lines if line and not line.startswith("Name: "))


def spread(w: dict) -> str:
    """How far apart the seeds of a word2vec benchmark were on WS-353, ours and gensim's."""
    parts = []
    for name, who in (("ours", "ours"), ("gensim", "gensim's")):
        scores = [r["ws353"] for r in w[name].get("runs", [])]
        if len(scores) > 1:
            parts.append(f"{who} from {min(scores):.2f} to {max(scores):.2f}")
    return ("From seed to seed WS-353 ranged " + ", ".join(parts) + ", so differences smaller than that are "
            "noise.") if parts else ""


def _w2v_scores(run: dict, name: str) -> str:
    s = run[name]
    return f"WS-353 {fmt(s['ws353'])}, analogy {fmt(s['analogy'], 3)}, SimLex-999 {fmt(s['simlex999'])}"


def build(results: dict, times: list[dict]) -> tuple[str, dict]:
    """The page's markdown and ``{file name: figure}``."""
    cpu, gpu_run, gpu = results["cpu"], results["gpu_run"], results["gpu_benchmarks"]
    figures = {}
    cpu_hw = cpu_name(cpu) if cpu else "this machine"
    gpu_hw = gpu_name((gpu or gpu_run)["environment"]) if (gpu or gpu_run) else None
    out = ["(appendix-performance)=", "# Appendix: performance", "",
           "<!-- Written by scripts/perf_appendix.py from data/results/*.json and the chapters' saved runs; "
           "do not edit by hand. -->", "",
           "How fast the book's code runs, against reference implementations and against the machine's own "
           "limit, and how long each chapter takes. Every figure and number on this page is made by "
           "`python scripts/perf_appendix.py` from the results files in `data/results/` and the timestamps of the "
           "chapters' saved runs; `python scripts/cpu_benchmarks.py` measures the CPU figures again and "
           "`python scripts/gpu_benchmarks.py` and `python scripts/gpu_run.py` the GPU ones (see the README).", ""]

    # the machines
    out += ["## The machines", ""]
    machine_rows = []
    if cpu:
        hw = cpu["hardware"]
        machine_rows.append(["CPU", f"{hw['cpu']} ({hw['vendor']}), {hw['cores']} cores, "
                             f"{'AVX-512' if hw['avx512'] else 'AVX2 without AVX-512' if hw['avx2'] else 'no AVX2'}"
                             f"{', under ' + hw['hypervisor'] if hw.get('hypervisor') else ''}",
                             f"torch {hw['torch']} (kernels: {hw['torch_cpu_capability']}), Python {hw['python']}",
                             hw["date"]])
    if gpu_run or gpu:
        env = (gpu or gpu_run)["environment"]
        machine_rows.append(["GPU", f"{env['gpu']} (host: {env.get('host_cpu_cores', '?')} CPU cores)",
                             f"torch {env['torch']}, CUDA {env['cuda']}, driver {env.get('driver', '?')}",
                             env["date"]])
    out += [table(["", "hardware", "software", "measured"], machine_rows), ""]
    if cpu:
        out += ["The CPU is a shared virtual machine, and other work may run beside a measurement. Each CPU run "
                "therefore records the share of its cores it actually got (its CPU time over threads × wall "
                "time; 100% means it had them to itself), and the tables below print it.", ""]
    if not cpu:
        out += ["No CPU results yet: run `python scripts/cpu_benchmarks.py`.", ""]

    # chapter times
    if times:
        over = [t for t in times if t["seconds"] / 60 > CPU_BUDGET_MIN]
        total = sum(t["seconds"] for t in times) / 60
        crowded = [t for t in times if t["at_once"] > 1]
        torch_cpu = cpu["hardware"]["torch"] if cpu else "as installed"
        figures["perf_chapter_times.svg"] = fig_chapter_times(
            times, f"2-core CPU machines (each run's CPU in the table), torch {torch_cpu}")
        out += ["(perf-chapter-times)=", "## Chapter times on the CPU", "",
                f"Each chapter's saved outputs come from one run of its CPU preset with one torch thread "
                f"(`make execute`). Summing its code cells' execution times gives the table below: "
                f"{total:.1f} minutes for all {len(times)} chapters, "
                + (f"of which {len(over)} ran longer than the {CPU_BUDGET_MIN}-minute budget "
                   f"({', '.join('chapter ' + str(t['number']) for t in over)}). " if over else
                   f"each within the {CPU_BUDGET_MIN}-minute budget. ")
                + ("The runs were not all alone on the machine: the last column counts the saved chapter runs "
                   "that were executing at once at the busiest moment of each run (on two cores, more than two "
                   "at once slow each other down). Other work is not counted, such as the second run of a chapter "
                   "that measures its spread under other kernels." if crowded else
                   "No two saved chapter runs overlapped; other work on the machine is not counted."), "",
                figure("perf_chapter_times.svg", "perf-fig-chapter-times",
                       f"Minutes per chapter, CPU preset, one thread, torch {torch_cpu}, on this project's 2-core CPU "
                       "machines (the table names the CPU of each run that recorded it; they differ between "
                       "sessions, so compare rows with care); orange: over the budget."), "",
                table(["chapter", "code cells", "minutes", "executed (UTC)", "CPU", "chapters running at once"],
                      [[f"{t['number']}. {t['title']}", t["cells"], f"{t['seconds'] / 60:.1f}",
                        t["start"].strftime("%Y-%m-%d %H:%M"), t["cpu"], t["at_once"]] for t in times]), ""]

    # throughput of every model
    if cpu and cpu.get("throughput", {}).get("rows"):
        rows = [r for r in cpu["throughput"]["rows"] if "error" not in r]
        figures["perf_throughput.svg"] = fig_throughput(rows, cpu_hw)
        rows = sorted(rows, key=lambda r: (r["chapter"], r["threads"]))
        one = {r["model"]: r for r in rows if r["threads"] == 1}
        two = {r["model"]: r for r in rows if r["threads"] == 2}
        gains = {m: two[m]["rate"] / one[m]["rate"] for m in one if m in two}
        best, worst = max(gains, key=gains.get), min(gains, key=gains.get)
        out += ["(perf-throughput)=", "## Throughput of every model the book trains", "",
                "One training step (forward, backward, update) of each model at its chapter's CPU-preset size and "
                f"batch, timed over {cpu['throughput']['steps']} steps after {cpu['throughput']['warmup']} "
                "untimed ones, on one and on two threads. The Transformer models train on random token ids "
                "(the speed does not depend on the values); word2vec and GloVe train on the Wikipedia sample with "
                "their own optimisers, so their rates count corpus words and co-occurrence cells. "
                f"A second thread helps {best} most ({gains[best]:.2f}× the one-thread rate) and "
                f"{worst} least ({gains[worst]:.2f}×): work done in a few large operators splits well over two "
                "cores, many small ones (a batch of scattered word-vector updates) do not. "
                + " ".join(f"The {t}-thread runs got {rows_t[0]['cpu_share']:.0%} of their "
                           f"{'core' if t == 1 else 'cores'}." for t in (1, 2)
                           if (rows_t := [r for r in rows if r["threads"] == t and "cpu_share" in r])), "",
                figure("perf_throughput.svg", "perf-fig-throughput",
                       f"Training items per second against parameters (log-log), filled: one thread, hollow: "
                       f"two; on {cpu_hw}."), "",
                table(["model", "chapter", "parameters", "items per step", "1 thread (items/s)",
                       "2 threads (items/s)", "2 ÷ 1"],
                      [[m, one[m]["chapter"], thousands(one[m]["params"]), f"{thousands(one[m]['items_per_step'])} "
                        f"{one[m]['unit']}", thousands(one[m]["rate"]),
                        thousands(two[m]["rate"]) if m in two else "", f"{gains[m]:.2f}" if m in gains else ""]
                       for m in one]), ""]

    # against transformers
    gpt_cpu, bert_cpu = runs_by(cpu, "gpt"), runs_by(cpu, "bert")
    if gpt_cpu or bert_cpu or gpu_runs(gpu, "gpt"):
        figures["perf_ratios.svg"] = fig_ratios(cpu, gpu, cpu_hw, gpu_hw)
        out += ["(perf-transformers)=", "## Our GPT and BERT against `transformers`", "",
                "`benchmarks/gpt.py` and `benchmarks/bert.py` train our model and Hugging Face's "
                "`GPT2LMHeadModel` or `BertForMaskedLM` of the same configuration on the same batches in one "
                "process, alternating step by step, so both see the same machine load. Our BERT scores the "
                "masked-LM output layer on the masked positions only (about 15% of them), as Google's code does; "
                "Hugging Face's computes it at every position."]
        sentences = []
        if 1 in gpt_cpu:
            sentences.append(f"On one CPU thread our GPT trains at {gpt_cpu[1]['ratio']:.2f}× the tokens/s of "
                             "`transformers`")
        if 1 in bert_cpu:
            b = bert_cpu[1]
            sentences.append(f"our BERT at {b['train_ratio']:.2f}× in training and {b['infer_ratio']:.2f}× in "
                             "inference, where both compute every position's logits and the two do the same work")
        if sentences:
            out[-1] += " " + ", and ".join(sentences) + "."
        g = gpu_runs(gpu, "gpt") + gpu_runs(gpu, "bert")
        if g:
            ratios = [r.get("ratio", r.get("train_ratio")) for r in g]
            out[-1] += (f" On the {gpu_hw.split(',')[0]} (bfloat16 autocast, fused AdamW) ours trains at "
                        f"{min(ratios):.2f}× to {max(ratios):.2f}× their speed.")
        out += ["", figure("perf_ratios.svg", "perf-fig-ratios",
                           f"Our tokens/s over `transformers`' at the same shapes. CPU: {cpu_hw}. "
                           + (f"GPU: {gpu_hw}." if gpu_hw else "")), ""]
        rows = []
        for threads, r in sorted(gpt_cpu.items()):
            rows.append([f"GPT, CPU, {threads} thread{'s' * (threads > 1)}", "train",
                         thousands(r["ours"]["tokens_per_s"]), thousands(r["hf"]["tokens_per_s"]), fmt(r["ratio"]),
                         share(r)])
        for threads, r in sorted(bert_cpu.items()):
            for kind in ("train", "infer"):
                rows.append([f"BERT, CPU, {threads} thread{'s' * (threads > 1)}", kind,
                             thousands(r["ours"][f"{kind}_tokens_per_s"]), thousands(r["hf"][f"{kind}_tokens_per_s"]),
                             fmt(r[f"{kind}_ratio"]), share(r)])
        for r in gpu_runs(gpu, "gpt"):
            rows.append([f"{display(r['name'])}, GPU", "train", thousands(r["ours"]["tokens_per_s"]),
                         thousands(r["hf"]["tokens_per_s"]), fmt(r["ratio"]), ""])
        for r in gpu_runs(gpu, "bert"):
            for kind in ("train", "infer"):
                rows.append([f"{display(r['name'])}, GPU", kind, thousands(r["ours"][f"{kind}_tokens_per_s"]),
                             thousands(r["hf"][f"{kind}_tokens_per_s"]), fmt(r[f"{kind}_ratio"]), ""])
        out += [table(["model, device", "step", "ours (tokens/s)", "transformers (tokens/s)", "ratio", "CPU share"],
                      rows), ""]
        shapes = sorted({(r["d_model"], r["layers"], r["heads"], r["seq"], r["batch"], r["vocab"])
                         for r in [*gpt_cpu.values(), *bert_cpu.values()]})
        if shapes:
            out += ["CPU shapes (width, layers, heads, sequence, batch, vocabulary): "
                    + "; ".join(", ".join(map(str, s)) for s in shapes) + ".", ""]

    # CPU MFU
    if gpt_cpu and bert_cpu:
        figures["perf_cpu_mfu.svg"] = fig_mfu(cpu, cpu_hw)
        g1, b1 = gpt_cpu.get(1, next(iter(gpt_cpu.values()))), bert_cpu.get(1, next(iter(bert_cpu.values())))
        out += ["(perf-cpu-mfu)=", "## How close to the machine's limit: CPU MFU", "",
                "A GPU's model FLOPs utilisation (MFU) divides the FLOP/s a model's training needs by the chip's "
                "published peak. A CPU has no peak that its kernels reach, so each CPU benchmark also times a "
                f"dense float32 matrix multiply ({g1['matmul']['size']} × {g1['matmul']['size']}, the fastest of "
                "a few calls, on the same threads, in the same process) and divides by that: the *CPU MFU*. The FLOPs "
                "are the benchmarks' formulas: `6N + 12LdT` per trained GPT token, and for BERT the weights each "
                "token passes through with the masked-LM head counted only where it runs.", "",
                f"On one thread the matmul ran at {g1['matmul']['gflops']:.0f} GFLOP/s. Our GPT's training step "
                f"reached {g1['ours']['gflops']:.1f} GFLOP/s, a CPU MFU of {g1['ours']['cpu_mfu']:.0%} "
                f"(`transformers`: {g1['hf']['cpu_mfu']:.0%}); our BERT's {b1['ours']['train_cpu_mfu']:.0%} in "
                f"training and {b1['ours']['infer_cpu_mfu']:.0%} in inference. What a training step loses "
                f"against the plain matmul at width {g1['d_model']} goes to short matrix multiplies, attention, the "
                "element-wise operators and the optimiser; the profile below shows how much to each."
                + two_thread_note(gpt_cpu, bert_cpu), "",
                figure("perf_cpu_mfu.svg", "perf-fig-cpu-mfu", f"CPU MFU of our models and `transformers`' on "
                       f"{cpu_hw}. For `transformers`' BERT the count includes the output layer at every position, "
                       "which it computes."), ""]
        rows = []
        for name, runs in (("GPT", gpt_cpu), ("BERT", bert_cpu)):
            for threads, r in sorted(runs.items()):
                kinds = [("train", "", "")] if name == "GPT" else [("train", "train_", "train_"),
                                                                    ("infer", "infer_", "infer_")]
                for kind, g_key, m_key in kinds:
                    rows.append([name, kind, threads, f"{r['matmul']['gflops']:.1f}",
                                 f"{r['ours'][g_key + 'gflops']:.1f}", f"{r['ours'][m_key + 'cpu_mfu']:.0%}",
                                 f"{r['hf'][g_key + 'gflops']:.1f}", f"{r['hf'][m_key + 'cpu_mfu']:.0%}"])
        out += [table(["model", "step", "threads", "matmul GFLOP/s", "ours GFLOP/s", "ours CPU MFU",
                       "transformers GFLOP/s", "transformers CPU MFU"], rows), ""]
        gpu_mfu = [(r["name"], r["ours"].get("mfu", r["ours"].get("train_mfu")),
                    r["hf"].get("mfu", r["hf"].get("train_mfu"))) for r in gpu_runs(gpu, "")]
        if gpu_mfu and gpu_hw:
            peak = gpu_runs(gpu, "")[0].get("peak_tflops")
            out += [f"On the GPU the denominator is the published dense bf16 peak ({peak:.0f} TFLOP/s), and the "
                    "training MFU of the book's presets and the papers' base models is: "
                    + "; ".join(f"{display(n)}: ours {a:.1%}, `transformers` {b:.1%}" for n, a, b in gpu_mfu)
                    + f" ({gpu_hw}).", ""]

    # the profile
    if cpu and cpu.get("profile"):
        profiles = cpu["profile"]
        figures["perf_profile.svg"] = fig_profile(profiles, cpu_hw)
        out += ["(perf-profile)=", "### Where the time goes", "",
                "`torch.profiler` over training steps of our two models at the same CPU shapes, one thread, "
                "grouped by operator (self time, so a group does not count the operators it calls; every operator "
                "of the AdamW update counts as the optimiser's)."]
        for p in profiles:
            groups, phases = p["groups"], p["phases"]
            top = p["top_ops"][0]
            out[-1] += (f" {p['model'].upper()} ({p['step_ms']:.0f} ms a step under the profiler): the forward "
                        f"pass takes {phases['forward']:.0%} of it, the backward pass {phases['backward']:.0%} and "
                        f"the AdamW update {phases['optimiser']:.0%}; matrix multiplies take "
                        f"{groups.get('matrix multiplies', 0):.0%}, attention {groups.get('attention', 0):.0%}, "
                        f"GELU {groups.get('GELU', 0):.0%}, and the largest single operator is `{top['op']}` "
                        f"({top['share']:.0%}).")
        out += ["", profile_finding(profiles), "",
                figure("perf_profile.svg", "perf-fig-profile", f"Shares of a training step's operator time, "
                       f"one thread, on {cpu_hw}."), ""]
        rows = [[p["model"].upper(), f"`{o['op'].removeprefix('aten::')}`", f"{o['share']:.1%}", o["calls_per_step"]]
                for p in profiles for o in p["top_ops"][:8]]
        out += [table(["model", "operator (`aten::`)", "share of step", "calls a step"], rows), ""]

    # word2vec
    settings = []
    if cpu and cpu.get("word2vec") and "error" not in cpu["word2vec"]:
        w = cpu["word2vec"]
        settings.append((f"CPU, {w['threads']} thread", w))
    if gpu and gpu.get("word2vec") and "error" not in gpu["word2vec"]:
        w = gpu["word2vec"]
        settings.append((f"GPU vs {w['threads']} CPU workers", w))
    if settings:
        figures["perf_word2vec.svg"] = fig_word2vec(settings)
        out += ["(perf-word2vec)=", "## word2vec against gensim", "",
                "`benchmarks/word2vec.py` trains our skip-gram with negative sampling and gensim's on the "
                "Wikipedia sample for the same wall-clock time, with the same vocabulary, dimension, window, "
                "negatives and subsampling, and scores both vectors the same way."]
        for label, w in settings:
            o, g = w["ours"], w["gensim"]
            if label.startswith("CPU"):
                got = f", the run got {w['cpu_share']:.0%} of its core" if "cpu_share" in w else ""
                out[-1] += (f" On one CPU thread ({w['budget_s']:.0f} s each, mean of {w['repeats']} seeds{got}) ours "
                            f"processed {rate(o['words_per_s'])} words/s against gensim's "
                            f"{rate(g['words_per_s'])}, {w['speed_ratio']:.2f}× its speed ({o['epochs']:.1f} "
                            f"epochs against {g['epochs']:.1f}), and reached {_w2v_scores(w, 'ours')} against "
                            f"gensim's {_w2v_scores(w, 'gensim')}. {spread(w)}")
            else:
                out[-1] += (f" On the GPU ({w['device'].split(',')[0]}, {w['budget_s']:.0f} s, {w['repeats']} "
                            f"seed) ours ran at {rate(o['words_per_s'])} words/s, {w['speed_ratio']:.2f}× gensim's "
                            f"{rate(g['words_per_s'])} on {w['threads']} CPU workers of the same host: short of "
                            f"the aim of {WORD2VEC_GPU_AIM}× gensim. That is plausible: each update is a batch "
                            "of a few hundred windows, so the GPU runs a long chain of tiny gathers, dot products "
                            "and scatter-adds whose launch cost, not arithmetic, sets the pace, while gensim's "
                            "workers run tight compiled loops in parallel. At equal time our vectors scored "
                            f"{_w2v_scores(w, 'ours')}, gensim's {_w2v_scores(w, 'gensim')}.")
        out += ["", figure("perf_word2vec.svg", "perf-fig-word2vec",
                           "word2vec words/s (log scale) and quality at equal time, ours and gensim's. "
                           + " ".join(f"{label}: {cpu_hw if label.startswith('CPU') else w['device']}."
                                      for label, w in settings)), ""]

    # GPU
    if gpu_run or gpu:
        out += ["(perf-gpu)=", "## GPU results", ""]
        if gpu_run:
            env = gpu_run["environment"]
            figures["perf_gpu_chapters.svg"] = fig_gpu_chapters(gpu_run, gpu_hw)
            chapters = gpu_run["chapters"]
            passed = [int(n[:2]) for n, c in sorted(chapters.items()) if c.get("passed")]
            failed = [(int(n[:2]), c) for n, c in sorted(chapters.items()) if c.get("finished", True)
                      and not c.get("passed")]
            unfinished = [(int(n[:2]), c) for n, c in sorted(chapters.items()) if not c.get("finished", True)]
            out += ["(perf-gpu-chapters)=", "### The chapters' GPU presets", "",
                    f"`python scripts/gpu_run.py` ran the chapters' GPU presets on one {env['gpu']} "
                    f"({env['date']}). {gpu_run.get('note', '')} "
                    f"{'Chapter' if len(passed) == 1 else 'Chapters'} {and_list(passed)} passed their checks. "
                    + "".join(f"Chapter {n} failed its check cell: `{error_summary(c['error'])}`"
                              + (" (its preset has since been shortened; the mixed-precision runs below train "
                                 "that shorter preset). " if n == 6 else ". ") for n, c in failed)
                    + "".join(f"Chapter {n} did not finish: {c['error']}. " for n, c in unfinished)
                    + ("Not run: " + "; ".join(f"chapter {int(n[:2])}, {why}" for n, why in
                                               sorted(gpu_run.get("not_run", {}).items())) + "." if
                       gpu_run.get("not_run") else ""), "",
                    "The T4 estimate scales only the part of a run in which the GPU was busy by the "
                    f"{env['t4_factor']:.1f}× that separates the two GPUs' data-sheet speeds, and the rest by an "
                    "assumed 1.5× slower host (`scripts/gpu_run.py`); it is an estimate, not a T4 measurement.", "",
                    figure("perf_gpu_chapters.svg", "perf-fig-gpu-chapters",
                           f"Seconds per chapter on the {gpu_hw} (several chapters at once: upper bounds) and the "
                           f"T4 estimate, against the {T4_BUDGET_S // 60}-minute budget."), "",
                    table(["chapter", "passed", f"{env['gpu']} (s)", "GPU busy", "T4 estimate (s)",
                           "peak GPU memory (MiB)"],
                          [[int(n[:2]), "yes" if c.get("passed") else "no",
                            f"{c['seconds']:.0f}" if "seconds" in c else f"≥ {c['seconds_at_least']:.0f}",
                            f"{c['gpu_busy']:.0%}" if "gpu_busy" in c else "",
                            f"{c['t4_estimate_s']}" if "t4_estimate_s" in c else
                            f"≥ {c.get('t4_estimate_at_least_s', '')}",
                            f"{c['peak_gpu_mib']:.0f}" if "peak_gpu_mib" in c else ""]
                           for n, c in sorted(chapters.items())]), ""]
        amp = [r for r in (gpu or {}).get("amp", []) if "error" not in r]
        if amp:
            figures["perf_amp.svg"] = fig_amp(amp, gpu_hw)
            ppl = {(r["amp"], r["seed"]): r["held_out_perplexity"] for r in amp}
            seed_gap = abs(ppl[("bf16", 0)] - ppl[("bf16", 1)]) if ("bf16", 1) in ppl else None
            fp16_gap = abs(ppl[("fp16", 0)] - ppl[("bf16", 0)]) if ("fp16", 0) in ppl else None
            fp32_gap = abs(ppl[("off", 0)] - ppl[("bf16", 0)]) if ("off", 0) in ppl else None
            seconds = {(r["amp"], r["seed"]): r["seconds"] for r in amp}
            text = (f"`python scripts/gpu_benchmarks.py` pretrained the chapter-6 GPU preset GPT for "
                    f"{amp[0]['val_perplexity'][-1][0]:,} steps four times on the {gpu_hw.split(',')[0]}: "
                    "in bfloat16 with two seeds, in float16 with the gradient scaler (Colab's T4 path) and in "
                    "float32.")
            if seed_gap is not None and fp16_gap is not None and fp32_gap is not None:
                text += (f" The held-out perplexities are {ppl[('bf16', 0)]:.2f} and {ppl[('bf16', 1)]:.2f} "
                         f"(bf16, seeds 0 and 1), {ppl[('fp16', 0)]:.2f} (fp16) and {ppl[('off', 0)]:.2f} (fp32). "
                         f"fp16 differs from bf16 with the same seed by {fp16_gap:.2f} and fp32 by {fp32_gap:.2f}, "
                         + (f"{'less than' if max(fp16_gap, fp32_gap) < seed_gap else 'about as much as'} the "
                            f"{seed_gap:.2f} between two bf16 seeds: on this model the precision does not matter "
                            "beyond the noise of the seed, and the T4's fp16 path trains as well as bf16. "
                            if max(fp16_gap, fp32_gap) <= 1.5 * seed_gap else
                            f"more than the {seed_gap:.2f} between two bf16 seeds: here the precision moves the "
                            "result beyond the noise of the seed. ")
                         + f"The runs took {seconds[('bf16', 0)]:.0f} s (bf16), {seconds[('fp16', 0)]:.0f} s (fp16) "
                         f"and {seconds[('off', 0)]:.0f} s (fp32), four at once on the one GPU.")
            text += " Each run's command was this one with its own `PTM_AMP` and `--seed`:"
            out += ["(perf-amp)=", "### Mixed precision", "", text, "", "```bash", amp[0]["command"], "```", "",
                    figure("perf_amp.svg", "perf-fig-amp",
                           f"Training loss and held-out perplexity of the same GPT in bf16 (two seeds), fp16 and "
                           f"fp32, on the {gpu_hw}."), "",
                    table(["precision", "`PTM_AMP`", "seed", "held-out perplexity", "seconds"],
                          [["fp32" if r["amp"] == "off" else r["amp"], f"`{r['amp']}`", r["seed"],
                            f"{r['held_out_perplexity']:.2f}", f"{r['seconds']:.0f}"] for r in amp]), ""]
    return "\n".join(out).rstrip() + "\n", figures


def profile_finding(profiles: list[dict]) -> str:
    """What the profile says about waste, from the profile's own shares."""
    by = {p["model"]: p for p in profiles}
    text = ("The profile shows no waste of the kind worth a change to the library. BERT's masked-LM head already "
            "runs on the masked positions only (`ptm_lib.models.bert.mlm_loss` gathers them before the "
            "`V`-wide output layer, as Google's code does), so the full-vocabulary projection is not computed "
            "where nothing is scored")
    if "bert" in by:
        text += f": its cross-entropy is {by['bert']['groups'].get('cross-entropy', 0):.0%} of the step"
    if "gpt" in by:
        text += (f", against {by['gpt']['groups'].get('cross-entropy', 0):.0%} for GPT, which must score every "
                 "position")
    text += (". Attention already runs in PyTorch's fused `scaled_dot_product_attention` kernel. The rest is the "
             "price of small matrices: at width 128 each matrix multiply is short, so the element-wise "
             "operators (GELU, LayerNorm, bias sums, copies and fills) and the bookkeeping between operators weigh "
             "more than they would in a wide model. Removing those costs means fusing operators (a compiled "
             "graph), which did not pay on this CPU (the design notes record no speed-up from `torch.compile` "
             "and a long compile), and every other change would move the saved chapters' numbers; so the "
             "library is left as it is.")
    return text


# --- writing and checking ---

def render(results: dict | None = None, times: list[dict] | None = None) -> dict[str, bytes]:
    """``{relative path under chapters/: bytes}`` for the page and every figure."""
    results = load_results() if results is None else results
    times = chapter_times() if times is None else times
    files = {}
    with plt.rc_context(STYLE):
        page, figures = build(results, times)
        for name, fig in figures.items():
            buffer = io.BytesIO()
            fig.savefig(buffer, format="svg", metadata={"Date": None})
            plt.close(fig)
            files[f"figures/{name}"] = buffer.getvalue()
    files[PAGE] = page.encode()
    return files


def stale(files: dict[str, bytes], folder: Path = CHAPTERS) -> list[str]:
    """The paths whose committed file differs from ``files``, and committed perf figures no longer made."""
    differ = [p for p, data in files.items() if not (folder / p).exists() or (folder / p).read_bytes() != data]
    extra = [f"figures/{p.name}" for p in (folder / "figures").glob(f"{FIGURE_PREFIX}*.svg")
             if f"figures/{p.name}" not in files]
    return differ + extra


def write(files: dict[str, bytes], folder: Path = CHAPTERS) -> None:
    for p in (folder / "figures").glob(f"{FIGURE_PREFIX}*.svg"):
        if f"figures/{p.name}" not in files:
            p.unlink()
    for path, data in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
        print(f"wrote chapters/{path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a committed file is stale")
    parser.add_argument("--measure", action="store_true", help="run scripts/cpu_benchmarks.py first")
    args = parser.parse_args(argv)
    if args.measure:
        subprocess.run([sys.executable, str(ROOT / "scripts" / "cpu_benchmarks.py")], check=True, cwd=ROOT)
    files = render()
    if args.check:
        differ = stale(files)
        for path in differ:
            print(f"stale: chapters/{path} (run python scripts/perf_appendix.py)")
        return 1 if differ else 0
    write(files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
