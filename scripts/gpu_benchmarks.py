"""The GPU half of the performance figures: the three benchmarks and the two mixed-precision paths.

    python scripts/gpu_benchmarks.py                      # writes data/results/gpu_benchmarks.json
    python scripts/gpu_benchmarks.py --only amp --results /tmp/amp.json

``benchmarks``: our GPT and BERT against ``transformers`` (training tokens/s, their ratio and
the model FLOPs utilisation under bf16 autocast with fused AdamW) at two shapes each: the
book's GPU preset and the original paper's base model (GPT-2 small, BERT-base).

``word2vec``: our skip-gram on the GPU against gensim on all of the same machine's CPU
cores, 60 s each (words/s and quality at equal time); it needs gensim, so it is its own part.

``amp``: the chapter-6 GPT preset pretrained for the same steps four times: bfloat16
(seeds 0 and 1: the seed-to-seed noise), float16 with the gradient scaler forced (Colab's
T4 path) and float32; the held-out perplexity and the training-loss curves are recorded,
so that "fp16 agrees with bf16" is a comparison against the seed noise, not a guess.

Each run is its own process (``python -m benchmarks.…`` / ``python -m ptm_lib.pretrain``)
so one failure is recorded and the rest still run; the file is rewritten after each run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scripts import results_file  # noqa: E402
from scripts.gpu_run import environment  # noqa: E402

DEFAULT_RESULTS = ROOT / "data" / "results" / "gpu_benchmarks.json"

# (name, module, arguments): the book's GPU preset shapes, then the papers' base models.
BENCHMARKS = [
    ("gpt, chapter 6 GPU preset", "benchmarks.gpt",
     ["--d-model", "256", "--layers", "4", "--heads", "4", "--seq", "128", "--batch", "64", "--steps", "50"]),
    ("gpt, GPT-2 small (124M)", "benchmarks.gpt",
     ["--vocab", "50257", "--d-model", "768", "--layers", "12", "--heads", "12", "--seq", "1024", "--batch", "16",
      "--steps", "20"]),
    ("bert, chapter 7 GPU preset", "benchmarks.bert",
     ["--d-model", "256", "--layers", "4", "--heads", "4", "--seq", "128", "--batch", "32", "--steps", "50"]),
    ("bert, BERT-base (110M)", "benchmarks.bert",
     ["--vocab", "30522", "--d-model", "768", "--layers", "12", "--heads", "12", "--seq", "512", "--batch", "32",
      "--steps", "20"]),
]
# word2vec: ours on the GPU and gensim on the same machine's CPU cores, 60 s each (``--only word2vec``).
WORD2VEC = ("word2vec, ours on the GPU vs gensim on the CPU", "benchmarks.word2vec",
            ["--device", "cuda", "--budget", "60"])

# The chapter-6 GPU preset (d_model 256, 4 layers, batch 64, 128 tokens), shortened.
AMP_STEPS = 2000
AMP_RUNS = [("bf16", 0), ("bf16", 1), ("fp16", 0), ("off", 0)]


def run_json(command: list[str], env: dict | None = None) -> dict:
    """Run ``command``; return the JSON object of its last stdout line, or the failure."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=ROOT)
    seconds = round(time.perf_counter() - start, 1)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr or done.stdout)[-1500:], "seconds": seconds}
    return {**json.loads(lines[-1]), "seconds": seconds}


def benchmark(name: str, module: str, arguments: list[str]) -> dict:
    return {"name": name, "command": f"python -m {module} {' '.join(arguments)}",
            **run_json([sys.executable, "-m", module, *arguments])}


def amp_run(amp: str, seed: int, folder: Path, steps: int = AMP_STEPS) -> dict:
    """Pretrain the chapter-6 GPU preset GPT with ``PTM_AMP=amp``; its perplexity and curve."""
    out = folder / f"gpt_{amp}_{seed}.pt"
    arguments = ["gpt", "--steps", str(steps), "--batch-size", "64", "--seq", "128", "--d-model", "256",
                 "--layers", "4", "--lr", "1e-3", "--seed", str(seed), "--threads", "2", "--out", str(out)]
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "ptm_lib.pretrain", *arguments], capture_output=True, text=True,
                          env={**os.environ, "PTM_AMP": amp, "PTM_PROGRESS": "0"}, cwd=ROOT)
    record = {"amp": amp, "seed": seed, "seconds": round(time.perf_counter() - start, 1),
              "command": f"PTM_AMP={amp} python -m ptm_lib.pretrain {' '.join(arguments[:-2])}"}
    if done.returncode != 0:
        return {**record, "error": done.stderr[-1500:]}
    from ptm_lib import checkpoints

    meta = checkpoints.load(out)[2]
    return {**record, **{key: meta[key] for key in ("held_out_perplexity", "train_loss", "val_perplexity")
                         if key in meta}}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument("--only", choices=("benchmarks", "amp", "word2vec"), help="one part (default: benchmarks, amp)")
    parser.add_argument("--gensim-threads", type=int, default=16,
                        help="gensim's workers (and our word2vec's torch threads) for --only word2vec")
    parser.add_argument("--amp-steps", type=int, default=AMP_STEPS, help="pretraining steps of each AMP run")
    args = parser.parse_args(argv)
    results = results_file.load(args.results)
    results["environment"] = environment()

    if args.only in (None, "benchmarks"):
        results["benchmarks"] = []
        for spec in BENCHMARKS:
            results["benchmarks"].append(benchmark(*spec))
            print(json.dumps(results["benchmarks"][-1])[:400], flush=True)
            results_file.save(args.results, results)
    if args.only == "word2vec":
        name, module, arguments = WORD2VEC
        results["word2vec"] = benchmark(name, module, [*arguments, "--threads", str(args.gensim_threads)])
        results_file.save(args.results, results)
    if args.only in (None, "amp"):
        with tempfile.TemporaryDirectory() as folder, ThreadPoolExecutor(len(AMP_RUNS)) as pool:
            results["amp"] = list(pool.map(lambda run: amp_run(*run, Path(folder), args.amp_steps), AMP_RUNS))
        results_file.save(args.results, results)
    return results


if __name__ == "__main__":
    main()
