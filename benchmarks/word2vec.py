"""Our skip-gram with negative sampling against gensim's, for the same wall-clock budget.

    python -m benchmarks.word2vec --budget 60 --threads 1 --repeats 5
    python -m benchmarks.word2vec --device cuda     # ours on a GPU, gensim on the CPU

Both train on the Wikipedia sample with the same vocabulary (``min_count``), dimension,
window, negatives and subsampling threshold, using the same number of threads (gensim
``workers`` = torch threads), and both decay the learning rate linearly *in time*, so each
ends its schedule when the budget is spent. gensim trains one epoch per ``train()`` call
with a hand-set alpha range, and starts another epoch only if at least half of one still
fits in the budget. Documents are cut into 1000-token sentences for both (``word2vec.c``'s
limit; gensim silently truncates sentences over 10,000 tokens). Ours reads an epoch's
windows in text order, as gensim does (``--order shuffled`` shuffles them instead: faster
in the first passes, lower on WS-353 after the twenty to thirty a minute buys; see
:class:`~ptm_lib.models.word2vec.Word2VecConfig`).

On a 451k-word corpus one run's scores move by a few hundredths from seed to seed, so
``--repeats N`` trains each contender ``N`` times (seeds ``seed .. seed + N - 1``) and
reports the mean, with every run's scores under ``runs``.

Prints ONE JSON line: for ``ours`` and ``gensim`` the (mean) words per second (corpus tokens,
out-of-vocabulary ones included, times epochs, over training time), epochs, Google
analogy accuracy and coverage, WS-353 and SimLex-999 Spearman; plus the speed ratio,
budget, threads and device. Both are scored by :mod:`ptm_lib.evaluate`.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import time

import numpy as np
import torch

from ptm_lib import evaluate
from ptm_lib.data.skipgram import stream
from ptm_lib.data.text import load_wikipedia
from ptm_lib.data.vocab import Vocab
from ptm_lib.data.wordsets import load_analogies, load_simlex999, load_wordsim353
from ptm_lib.models.word2vec import Word2Vec, Word2VecConfig, train_word2vec

# --- data ---

def load_wordsets() -> tuple[list, list, list]:
    return load_analogies(), load_wordsim353(), load_simlex999()


def sentences_of(docs: list[list[str]], length: int = 1000) -> list[list[str]]:
    return [doc[i:i + length] for doc in docs for i in range(0, len(doc), length)]


def score(vectors: np.ndarray, words: list[str], wordsets: tuple[list, list, list]) -> dict[str, float]:
    questions, ws353, simlex = wordsets
    a = evaluate.analogy(vectors, words, questions, restrict=30000)
    return {"analogy": round(a["accuracy"], 4), "analogy_coverage": round(a["coverage"], 4),
            "ws353": round(evaluate.similarity(vectors, words, ws353)["spearman"], 4),
            "simlex999": round(evaluate.similarity(vectors, words, simlex)["spearman"], 4)}


# --- the two contenders ---

def run_ours(sents: list[list[str]], args: argparse.Namespace, seed: int) -> tuple[dict, list[str]]:
    vocab = Vocab.build(sents, min_count=args.min_count, specials=())
    words = vocab.itos
    ids, sent = stream([vocab.encode_known(s) for s in sents])
    config = Word2VecConfig(len(words), dim=args.dim, window=args.window, negatives=args.negatives,
                            sample=args.sample, lr=args.lr, batch_size=args.batch_size,
                            shuffle=args.order == "shuffled")
    torch.manual_seed(seed)  # the noise words
    model = Word2Vec(config, vocab.counts, seed=seed).to(args.device)
    history = train_word2vec(model, ids, sent, budget_s=args.budget, seed=seed)
    epochs = history.words / len(ids)
    raw = sum(map(len, sents))
    return {"words_per_s": round(raw * epochs / history.seconds), "epochs": round(epochs, 2),
            "train_s": round(history.seconds, 1), "vocab": len(words),
            "vectors": model.vectors()}, words


def run_gensim(sents: list[list[str]], args: argparse.Namespace, seed: int) -> tuple[dict, list[str]]:
    from gensim.models import Word2Vec as GensimWord2Vec

    logging.getLogger("gensim").setLevel(logging.ERROR)
    model = GensimWord2Vec(vector_size=args.dim, window=args.window, negative=args.negatives, sample=args.sample,
                           min_count=args.min_count, workers=args.threads, sg=1, hs=0, seed=seed)
    model.build_vocab(sents)
    alpha, floor = args.gensim_alpha, args.gensim_alpha * 1e-4
    start, epochs, raw, last = time.perf_counter(), 0, 0, 0.0
    while True:
        elapsed = time.perf_counter() - start
        if epochs and elapsed + 0.5 * last > args.budget:
            break
        begin = max(floor, alpha * (1 - elapsed / args.budget))
        end = max(floor, alpha * (1 - (elapsed + last) / args.budget))
        t = time.perf_counter()
        _, words = model.train(sents, total_examples=model.corpus_count, epochs=1, start_alpha=begin, end_alpha=end)
        last, raw, epochs = time.perf_counter() - t, raw + words, epochs + 1
    seconds = time.perf_counter() - start
    words = list(model.wv.index_to_key)
    return {"words_per_s": round(raw / seconds), "epochs": epochs, "train_s": round(seconds, 1),
            "vocab": len(words), "vectors": model.wv.vectors}, words


def mean_of(runs: list[dict]) -> dict:
    """The runs' mean of every figure, with each run's scores kept under ``runs``."""
    summary = {key: round(float(np.mean([r[key] for r in runs])), 4) for key in runs[0] if key != "seed"}
    summary["runs"] = [{k: r[k] for k in ("seed", "epochs", "analogy", "ws353", "simlex999")} for r in runs]
    return summary


def describe(device: str) -> str:
    """The device ours runs on, as the JSON line reports it."""
    name = torch.cuda.get_device_name(device) if device.startswith("cuda") else \
        f"cpu ({platform.processor() or platform.machine()})"
    return f"{name}, torch {torch.__version__}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--budget", type=float, default=60.0, help="training seconds for each contender")
    p.add_argument("--threads", type=int, default=1, help="torch threads = gensim workers")
    p.add_argument("--dim", type=int, default=100)
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--negatives", type=int, default=5)
    p.add_argument("--sample", type=float, default=1e-3)
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--lr", type=float, default=None, help="ours; default Word2VecConfig's")
    p.add_argument("--batch-size", type=int, default=Word2VecConfig(2).batch_size)
    p.add_argument("--gensim-alpha", type=float, default=0.025, help="gensim's default")
    p.add_argument("--order", choices=("text", "shuffled"), default="text", help="ours: order of an epoch's windows")
    p.add_argument("--device", default="cpu", help="ours: cpu or cuda (gensim always runs on the CPU)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=1, help="runs per contender, seeds seed, seed+1, ...")
    p.add_argument("--skip-gensim", action="store_true")
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    sents, wordsets = sentences_of(load_wikipedia()), load_wordsets()
    result = {"benchmark": "word2vec skip-gram negative sampling", "budget_s": args.budget,
              "threads": args.threads, "device": describe(args.device),
              "corpus": "Wikipedia sample (ptm_lib.data.text.load_wikipedia)", "corpus_words": sum(map(len, sents)),
              "dim": args.dim, "window": args.window, "negatives": args.negatives, "sample": args.sample,
              "min_count": args.min_count, "order": args.order, "repeats": args.repeats}
    runners = [("ours", run_ours)] + ([] if args.skip_gensim else [("gensim", run_gensim)])
    for name, runner in runners:
        runs = []
        for seed in range(args.seed, args.seed + args.repeats):
            stats, words = runner(sents, args, seed)
            scores = score(stats.pop("vectors"), words, wordsets)
            runs.append({"seed": seed, **stats, **scores})
        result[name] = mean_of(runs)
    if "gensim" in result:
        result["speed_ratio"] = round(result["ours"]["words_per_s"] / result["gensim"]["words_per_s"], 3)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
