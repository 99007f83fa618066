"""The CPU half of the performance figures, measured on this machine into one results file.

    python scripts/cpu_benchmarks.py                      # writes data/results/cpu_benchmarks.json
    python scripts/cpu_benchmarks.py --only transformers  # one part; the others are kept

``transformers``: our GPT and BERT against ``transformers`` at the book's CPU shapes (the
benchmarks' defaults: chapter 6's GPT, chapter 7's live BERT), on one and on two threads;
each run also times a dense float32 matmul on the same threads in the same process, so the
result carries the "CPU MFU" (the model's FLOP/s over that matmul rate).

``profile``: ``torch.profiler`` over a few training steps of our GPT and BERT at the same
shapes and one thread: the operators' self time, grouped (matrix multiplies, attention,
element-wise, optimiser, ...), to say where a step's time goes.

``throughput``: one training step of every model the book trains, at its CPU-preset size,
on one and on two threads: tokens per second (images for chapter 1's CNN, co-occurrence
cells for GloVe) against the model's parameter count.

``word2vec``: ``python -m benchmarks.word2vec --threads 1 --repeats 3`` (our skip-gram
against gensim at equal wall-clock time; about 7 minutes).

Each benchmark of another module runs as its own process (one JSON line back), and the file
is rewritten after each part, so a failure is recorded and the rest still run. Run it on an
otherwise idle machine: the two-thread figures need both cores. Each run records its
``cpu_share`` (the CPU time it got over threads x wall time; 1.0 means it had its cores to
itself) and the load average before it, so a measurement made on a busy machine says so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scripts import results_file  # noqa: E402
from scripts.gpu_benchmarks import run_json  # noqa: E402

DEFAULT_RESULTS = ROOT / "data" / "results" / "cpu_benchmarks.json"
PARTS = ("transformers", "profile", "throughput", "word2vec")
THREADS = (1, 2)
TRANSFORMERS = [("gpt", "benchmarks.gpt"), ("bert", "benchmarks.bert")]
WORD2VEC = ["--threads", "1", "--repeats", "3"]


# --- the machine ---

def hardware() -> dict:
    """The CPU (lscpu's model name, cores, vector extensions), the library versions and the date."""
    info = {}
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        info = {key.strip(): value.strip() for key, _, value in
                (line.partition(":") for line in text.splitlines()) if value}
    except (OSError, subprocess.CalledProcessError):
        pass
    flags = set(info.get("Flags", "").split())
    import torch

    return {"cpu": info.get("Model name", platform.processor() or platform.machine()),
            "vendor": info.get("Vendor ID"), "cores": os.cpu_count(),
            "threads_per_core": int(info.get("Thread(s) per core", 1)),
            "hypervisor": info.get("Hypervisor vendor"),
            "avx2": "avx2" in flags, "avx512": any(f.startswith("avx512") for f in flags),
            "avx512_flags": sorted(f for f in flags if f.startswith("avx512")),
            "torch": torch.__version__, "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "python": platform.python_version(), "date": time.strftime("%Y-%m-%d")}


def run_measured(command: list[str], threads: int) -> dict:
    """:func:`run_json` of ``command`` on ``threads`` threads, plus how much CPU it got: its
    CPU seconds over ``threads`` times its wall seconds (1.0: it had its cores to itself; less:
    other processes took turns on them) and the 1-minute load average before it started."""
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = run_json(command, env={"OMP_NUM_THREADS": str(threads)})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {**done, "cpu_share": round(cpu / (wall * threads), 3), "load_before": round(load, 2)}


# --- the parts ---

def transformers_part() -> list[dict]:
    """Each of our Transformer benchmarks at its CPU defaults, on one and on two threads."""
    runs = []
    for name, module in TRANSFORMERS:
        for threads in THREADS:
            arguments = ["--threads", str(threads)]
            runs.append({"name": name, "command": f"python -m {module} {' '.join(arguments)}",
                         **run_measured([sys.executable, "-m", module, *arguments], threads)})
            print(json.dumps(runs[-1])[:300], flush=True)
    return runs


GROUPS = [  # (group, pattern of aten operator names), first match wins
    ("matrix multiplies", r"^aten::(mm|addmm|bmm|matmul|linear|baddbmm|addmv|mv|dot)$"),
    ("attention", r"scaled_dot_product|flash_attention|_efficient_attention|softmax_backward|^aten::_?softmax"),
    ("cross-entropy", r"log_softmax|nll_loss|cross_entropy"),
    ("layer norm", r"layer_norm"),
    ("GELU", r"gelu"),
    ("embeddings and gathers", r"embedding|index|gather|scatter|masked_select|nonzero"),
]


def group_of(op: str) -> str:
    return next((group for group, pattern in GROUPS if re.search(pattern, op)), "other")


PHASES = ("forward", "backward", "optimiser")


def phase_of(event) -> str | None:
    """The training phase (a ``record_function`` range of :func:`profile_part`) an event ran in."""
    while event is not None:
        if event.name in PHASES:
            return event.name
        event = event.cpu_parent
    return None


def profile_part(steps: int = 5) -> list[dict]:
    """Where one thread's training step goes, for our GPT and BERT at the benchmarks' CPU shapes:
    the share of the forward pass, the backward pass and the AdamW update, and of each group of
    operators (self time; every operator of the update counts as the optimiser's)."""
    import torch
    from torch.profiler import ProfilerActivity, profile, record_function

    from benchmarks import bert, gpt

    torch.set_num_threads(1)
    out = []
    for name, module in (("gpt", gpt), ("bert", bert)):
        args, device, _ = module.parse_args(name, 2000 if name == "gpt" else 4000, ["--threads", "1"])
        torch.manual_seed(0)
        model = module.build_ours(args).train()
        loss_fn = gpt.lm_loss if name == "gpt" else bert.mlm_loss
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
        g = torch.Generator().manual_seed(0)
        if name == "gpt":
            batches = [torch.randint(0, args.vocab, (args.batch, args.seq + 1), generator=g) for _ in range(steps + 2)]
        else:
            batches = [bert.make_batch(args, g, device) for _ in range(steps + 2)]

        def step(batch) -> None:
            with record_function("forward"):
                loss = loss_fn(model, batch)
            with record_function("backward"):
                loss.backward()
            with record_function("optimiser"):
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)

        for batch in batches[:2]:
            step(batch)
        cpu_before, wall_before = time.process_time(), time.perf_counter()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for batch in batches[2:]:
                step(batch)
        wall = time.perf_counter() - wall_before
        share = (time.process_time() - cpu_before) / wall
        ops: dict[str, list] = {}
        groups: dict[str, float] = {}
        phases = dict.fromkeys(PHASES, 0.0)
        for event in prof.events():
            phase = phase_of(event)
            if phase is None or event.name in PHASES:
                continue
            t = event.self_cpu_time_total
            phases[phase] += t
            group = "optimiser (AdamW)" if phase == "optimiser" else group_of(event.name)
            groups[group] = groups.get(group, 0.0) + t
            entry = ops.setdefault(event.name, [0.0, 0])
            entry[0] += t
            entry[1] += 1
        total = sum(phases.values())
        top = sorted(ops.items(), key=lambda kv: -kv[1][0])[:12]
        out.append({"model": name, "shape": {k: getattr(args, k) for k in ("vocab", "d_model", "layers", "heads",
                                                                          "seq", "batch")},
                    "steps": steps, "step_ms": round(wall / steps * 1e3, 1), "cpu_share": round(share, 3),
                    "phases": {p: round(t / total, 4) for p, t in phases.items()},
                    "groups": {g: round(t / total, 4) for g, t in sorted(groups.items(), key=lambda kv: -kv[1])},
                    "top_ops": [{"op": op, "share": round(t / total, 4), "calls_per_step": c // steps}
                                for op, (t, c) in top]})
        print(json.dumps(out[-1])[:400], flush=True)
    return out


def _adamw_step(model, loss_fn):
    import torch

    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step():
        loss = loss_fn()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return step


def throughput_models():
    """``(name, chapter, unit, params, items per step, step)`` for each model the book trains,
    at its CPU preset, training on random inputs of the right shape with AdamW (GloVe and
    word2vec train with their own optimisers on the Wikipedia sample instead: see below)."""
    import torch
    import torch.nn.functional as F

    from ptm_lib.data.bilm import N_CHARS
    from ptm_lib.models.bert import BertConfig, BertForPretraining, pretraining_loss
    from ptm_lib.models.elmo import BiLM, BiLMConfig, bilm_loss
    from ptm_lib.models.gpt import GPT, lm_loss
    from ptm_lib.models.nnlm import NNLM, NNLMConfig, nnlm_loss
    from ptm_lib.models.sequence import size_matched
    from ptm_lib.models.transformer import TransformerConfig
    from ptm_lib.models.vision import SmallCNN

    g = torch.Generator().manual_seed(0)
    models = []

    def add(name, chapter, unit, model, items, loss_fn):
        n = sum(p.numel() for p in model.parameters())
        models.append((name, chapter, unit, n, items, _adamw_step(model, loss_fn)))

    cnn = SmallCNN()  # chapter 1: channels (16, 32, 64), hidden 128, batch 32
    images, labels = torch.randn(32, 1, 28, 28, generator=g), torch.randint(0, 10, (32,), generator=g)
    add("CNN (images)", 1, "images", cnn, 32, lambda: F.cross_entropy(cnn(images), labels))

    nnlm = NNLM(NNLMConfig(vocab_size=10000, context=4, embed_dim=64, hidden=64))  # chapter 2, PTB, batch 512
    ctx, nxt = torch.randint(0, 10000, (512, 4), generator=g), torch.randint(0, 10000, (512,), generator=g)
    add("NNLM", 2, "tokens", nnlm, 512, lambda: nnlm_loss(nnlm, (ctx, nxt)))

    elmo_config = BiLMConfig(vocab_size=15325, d_model=128, n_layers=2, dropout=0.1)  # the chapter-4 checkpoint
    elmo = BiLM(elmo_config)
    words = torch.randint(4, 15325, (32, 32), generator=g)
    chars = torch.randint(1, N_CHARS, (32, 32, elmo_config.max_chars), generator=g)
    add("ELMo biLM", 4, "tokens", elmo, 32 * 32, lambda: bilm_loss(elmo, (words, chars)))

    # chapter 5's speed comparison at length 128 (4,096 tokens a batch), and chapter 6's GPT
    gpt5 = GPT(TransformerConfig(vocab_size=2000, max_len=128, d_model=128, n_layers=2, n_heads=4))
    n5 = sum(p.numel() for p in gpt5.parameters())
    ids5 = torch.randint(0, 2000, (32, 128), generator=g)
    for name, model in (("LSTM LM", size_matched("lstm", 2000, n5, n_layers=2)),
                        ("CNN LM", size_matched("conv", 2000, n5, n_layers=4))):
        add(name, 5, "tokens", model,
            ids5.numel(), lambda m=model: F.cross_entropy(m(ids5).flatten(0, 1), ids5.roll(-1, 1).flatten()))
    gpt = GPT(TransformerConfig(vocab_size=2000, max_len=128, d_model=128, n_layers=2, n_heads=4))
    ids = torch.randint(0, 2000, (16, 129), generator=g)
    add("GPT", 6, "tokens", gpt, 16 * 128, lambda: lm_loss(gpt, ids))

    bert = BertForPretraining(BertConfig(vocab_size=4000, max_len=128, d_model=128, n_layers=4, n_heads=4,
                                         dropout=0.0))  # the chapter-7 checkpoint, batch 32
    from benchmarks.bert import make_batch
    batch = make_batch(argparse.Namespace(vocab=4000, seq=128, batch=32), g, torch.device("cpu"))
    batch["is_next"] = torch.randint(0, 2, (32,), generator=g)
    add("BERT", 7, "tokens", bert, 32 * 128, lambda: pretraining_loss(bert, batch))
    return models


def corpus_rates(threads: int, budget_s: float = 4.0) -> list[dict]:
    """Chapter 3's word2vec (corpus words/s) and GloVe (co-occurrence cells/s) on the Wikipedia sample."""
    import torch

    from benchmarks.word2vec import sentences_of
    from ptm_lib.data.skipgram import stream
    from ptm_lib.data.text import load_wikipedia
    from ptm_lib.data.vocab import Vocab
    from ptm_lib.models.glove import GloVe, GloVeConfig, cooccurrence, train_glove
    from ptm_lib.models.word2vec import Word2Vec, Word2VecConfig, train_word2vec

    sents = sentences_of(load_wikipedia())
    vocab = Vocab.build(sents, min_count=5, specials=())
    ids, sent = stream([vocab.encode_known(s) for s in sents])
    torch.manual_seed(0)
    w2v = Word2Vec(Word2VecConfig(len(vocab), dim=100), vocab.counts, seed=0)
    history = train_word2vec(w2v, ids, sent, budget_s=budget_s, seed=0)
    raw = sum(map(len, sents))
    rows = [{"model": "word2vec skip-gram", "chapter": 3, "unit": "tokens",
             "params": sum(p.numel() for p in w2v.parameters()), "items_per_step": w2v.config.batch_size,
             "threads": threads, "rate": round(history.words * raw / len(ids) / history.seconds)}]
    x = cooccurrence(ids, sent, len(vocab), window=10)
    glove = GloVe(GloVeConfig(len(vocab), dim=100))
    history = train_glove(glove, x, budget_s=budget_s)
    rows.append({"model": "GloVe (co-occurrence cells)", "chapter": 3, "unit": "cells",
                 "params": sum(p.numel() for p in glove.parameters()), "items_per_step": glove.config.batch_size,
                 "threads": threads, "rate": round(history.epochs * x.nnz / history.seconds)})
    return rows


def throughput_worker(threads: int, steps: int, warmup: int) -> list[dict]:
    """Every model's training rate on ``threads`` threads (run in its own process)."""
    import torch

    from ptm_lib.speed import step_throughput

    torch.set_num_threads(threads)
    rows = []
    for name, chapter, unit, params, items, step in throughput_models():
        rate = step_throughput(step, items, steps=steps, warmup=warmup)
        rows.append({"model": name, "chapter": chapter, "unit": unit, "params": params, "items_per_step": items,
                     "threads": threads, "rate": round(rate)})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows + corpus_rates(threads)


def throughput_part(steps: int, warmup: int) -> list[dict]:
    rows = []
    for threads in THREADS:
        done = run_measured([sys.executable, __file__, "--worker", str(threads), "--steps", str(steps),
                             "--warmup", str(warmup)], threads)
        if "error" in done:
            rows.append({"threads": threads, **done})
        else:
            rows.extend({**row, "cpu_share": done["cpu_share"]} for row in done["rows"])
    return rows


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument("--only", choices=PARTS, action="append", help="one part (repeatable; default: all)")
    parser.add_argument("--steps", type=int, default=8, help="timed training steps of each model (throughput)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (throughput)")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)  # the throughput of one thread count
    args = parser.parse_args(argv)
    if args.worker:
        rows = throughput_worker(args.worker, args.steps, args.warmup)
        print(json.dumps({"rows": rows}))
        return {"rows": rows}

    results = results_file.load(args.results)
    results["hardware"] = hardware()

    for part in args.only or PARTS:
        start = time.perf_counter()
        if part == "transformers":
            results["transformers"] = transformers_part()
        elif part == "profile":
            results["profile"] = profile_part()
        elif part == "throughput":
            results["throughput"] = {"steps": args.steps, "warmup": args.warmup,
                                     "rows": throughput_part(args.steps, args.warmup)}
        elif part == "word2vec":
            results["word2vec"] = {"command": f"python -m benchmarks.word2vec {' '.join(WORD2VEC)}",
                                   **run_measured([sys.executable, "-m", "benchmarks.word2vec", *WORD2VEC], 1)}
        results.setdefault("seconds", {})[part] = round(time.perf_counter() - start, 1)
        results_file.save(args.results, results)
    return results


if __name__ == "__main__":
    main()
