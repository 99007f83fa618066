"""Chapter 8: BERT's ablation of its pretraining tasks, in miniature.

    python -m ptm_lib.ablation --seeds 3 --threads 1 --out data/results/bert_ablation.json

Devlin et al. (2019), section 5.1 and table 5, pretrain the same encoder on the same data
four ways and fine-tune each on the same tasks: BERT (masked LM + next-sentence
prediction), "No NSP" (the masked LM alone), "LTR & No NSP" (a left-to-right language
model, GPT's objective, left-only at fine-tuning too) and the last with a randomly
initialised BiLSTM on top during fine-tuning ("+ BiLSTM"), which gives the left-to-right
model a right-hand context back. :data:`ENCODERS` names our four, made by
``python -m ptm_lib.pretrain bert`` with the same shape, rows of 64 tokens, steps and
batch (the commands are in each checkpoint's record), and a fifth, random weights of the
same shape: the floor that says what pretraining is worth at all.

:func:`run` fine-tunes each encoder on each family of :mod:`ptm_lib.finetune.families`
with each seed (the seed draws the new layers and the order of the batches; the labelled
examples stay the same) and returns one row per run. :func:`main` writes them, with the
command, the hardware, the sizes, the recipe and each encoder's pretraining record
(tokens, CPU seconds, held-out scores), to a JSON file that chapter 8 reads; running it
again with other encoders adds them to the same file.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from . import checkpoints, results, runtime
from .finetune import families as task_families
from .finetune.bert import fine_tune
from .models.bert import BERT

PROGRAM = "python -m ptm_lib.ablation"


@dataclass(frozen=True)
class Encoder:
    """A starting point: the BERT ``checkpoint`` (a name in ``data/checkpoints``, or a path),
    or with ``random=True`` fresh weights of that checkpoint's shape; ``bilstm_top`` puts a
    new BiLSTM between its last layer and the task's output layer."""

    checkpoint: str
    bilstm_top: bool = False
    random: bool = False


ENCODERS = {
    "MLM + NSP": Encoder("bert_mlm_nsp.pt"),
    "MLM (no NSP)": Encoder("bert_mlm.pt"),
    "LTR (no NSP)": Encoder("bert_ltr.pt"),
    "LTR + BiLSTM": Encoder("bert_ltr.pt", bilstm_top=True),
    "random init": Encoder("bert_mlm.pt", random=True),
}
"""Table 5's four rows in our miniature, and the random floor, in the paper's order."""

RECIPE = {"epochs": 10, "batch_size": 16, "lr": 3e-4, "head_lr": 5e-3, "min_steps": 100}
"""Fine-tuning settings for every run: chapter 7's learning rates for our BERT, every weight
trained, for ten epochs (at least 100 updates). At chapter 7's three epochs the models whose
pooler no pretraining task had trained (all but MLM + NSP) stayed at chance on the topics
(0.20 for the MLM-only model; 0.32 after six epochs)."""


def _path(checkpoint: str) -> Path:
    path = Path(checkpoint)
    return path if path.suffix == ".pt" and path.exists() else checkpoints.book_checkpoint(checkpoint)


def load_encoder(encoder: Encoder, seed: int = 0) -> tuple[BERT, object, dict]:
    """``(bert, tokenizer, pretraining record)`` of ``encoder``: the checkpoint's encoder (the
    pretraining heads dropped), or a fresh one of its shape drawn with ``seed`` (record ``{}``)."""
    model, tokenizer, record = checkpoints.load(_path(encoder.checkpoint), kind="bert")
    if not encoder.random:
        return model.bert, tokenizer, record
    torch.manual_seed(seed)
    return BERT(model.config), tokenizer, {}


def fine_tune_and_score(family: task_families.TaskFamily, encoder: Encoder, seed: int,
                        recipe: Mapping = RECIPE, device=None) -> float:
    """Fine-tune ``encoder`` on ``family``'s training examples with ``seed``; its test score."""
    bert, tokenizer, _ = load_encoder(encoder, seed)
    torch.manual_seed(seed)
    model = family.model(bert.train(), encoder.bilstm_top).to(device or "cpu")
    fine_tune(model, family.data(tokenizer), family.loss, seed=seed, device=device,
              desc=f"{family.name}, seed {seed}", **recipe)
    return family.score(model, tokenizer)


def run(encoders: Mapping[str, Encoder], families: Mapping[str, task_families.TaskFamily], seeds: Sequence[int],
        recipe: Mapping = RECIPE, device=None, done: Callable[[dict], None] = lambda row: None) -> list[dict]:
    """Every encoder on every family with every seed: rows of ``encoder``, ``family``,
    ``metric``, ``seed``, ``score`` and ``seconds``; ``done(row)`` is called after each."""
    if not encoders or not families or not seeds:
        raise ValueError("run needs at least one encoder, one task family and one seed.")
    rows = []
    for name, encoder in encoders.items():
        for family in families.values():
            for seed in seeds:
                start = time.perf_counter()
                score = fine_tune_and_score(family, encoder, seed, recipe, device)
                rows.append({"encoder": name, "family": family.name, "metric": family.metric, "seed": seed,
                             "score": round(score, 4), "seconds": round(time.perf_counter() - start, 1)})
                done(rows[-1])
    return rows


def pretraining_summary(record: Mapping) -> dict:
    """The facts of a checkpoint's record that chapter 8's table shows (no curves)."""
    return {k: v for k, v in record.items() if k not in ("train_loss", "val")}


RESULTS = "bert_ablation.json"
"""The grid chapter 8 reads on a CPU, made by the command at the top of this module."""


def results_path() -> Path:
    """Where the book's grid is: ``data/results`` of a clone (or an editable install), or the
    copy a ``pip install`` puts under ``<sys.prefix>/share/ptm-lib/results``
    (:func:`ptm_lib.results.find`)."""
    return results.find(RESULTS, PROGRAM)


def load_results(path: Path | str | None = None) -> dict:
    """A grid written by :func:`main` (by default the book's, :func:`results_path`), with its
    runs checked by :func:`ptm_lib.results.load`: no encoder, family and seed is scored twice,
    and every encoder it names has runs."""
    return results.load(path, RESULTS, PROGRAM, ('encoder', 'family', 'seed'), 'encoders')


def main(argv: list[str] | None = None) -> Path:
    """``python -m ptm_lib.ablation [options]``: run the grid and write it to ``--out``.

    An existing ``--out`` made with the same sizes and recipe is extended: the encoders run
    now replace their own rows and keep the others', so that two processes (one per core)
    can each run some encoders into one file, one after the other."""
    parser = argparse.ArgumentParser(prog=PROGRAM, description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write (rewritten after every run)")
    parser.add_argument("--seeds", type=int, default=3, help="fine-tuning seeds 0..N-1 (default: %(default)s)")
    parser.add_argument("--encoders", nargs="+", choices=list(ENCODERS), default=list(ENCODERS), metavar="NAME",
                        help=f"which of {list(ENCODERS)} (default: all)")
    parser.add_argument("--families", nargs="+", choices=task_families.FAMILIES, default=list(task_families.FAMILIES),
                        help="which task families (default: all)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's own choice)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds {args.seeds}: give 1 or more.")
    if args.out.is_dir():
        parser.error(f"--out {args.out} is a folder; give a file name such as {args.out / 'bert_ablation.json'}.")
    result = results.existing(parser, args.out, {"sizes": task_families.SIZES, "recipe": RECIPE},
                              models="encoders")
    runtime.set_threads(args.threads)
    run_record = results.run_record(PROGRAM, argv)
    for name in args.encoders:
        encoder = ENCODERS[name]
        result["encoders"][name] = {"checkpoint": encoder.checkpoint, "bilstm_top": encoder.bilstm_top,
                                    "random": encoder.random, "fine_tuning": run_record, "pretraining":
                                    {} if encoder.random else pretraining_summary(load_encoder(encoder)[2])}
    result["runs"] = [r for r in result["runs"] if r["encoder"] not in args.encoders]
    save = results.saver(args.out, result, run_record, lambda row: (
        f"{row['encoder']:>14}  {row['family']:>8}  seed {row['seed']}  {row['metric']} {row['score']:.3f}  "
        f"({row['seconds']:.0f} s)"))

    run({name: ENCODERS[name] for name in args.encoders}, task_families.families(names=args.families),
        range(args.seeds), done=save)
    print(f"wrote {args.out} ({run_record['seconds']} s)")
    return args.out


if __name__ == "__main__":
    main()

__all__ = ["Encoder", "ENCODERS", "RECIPE", "load_encoder", "fine_tune_and_score", "run", "pretraining_summary",
           "RESULTS", "results_path", "load_results", "main"]
