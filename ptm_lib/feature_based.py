"""Chapter 8: BERT as frozen features against BERT fine-tuned, on named entities.

Devlin et al. (2019), section 5.3 and table 7, ask whether BERT must be fine-tuned: they
freeze it, feed the activations of one or more of its layers to a randomly initialised
two-layer BiLSTM tagger on CoNLL-2003, and compare with fine-tuning. Concatenating the last
four layers came within 0.3 F1 of fine-tuning BERT-base. This is ELMo's way of using a
pretrained model (chapter 4), applied to BERT.

Our version: the encoder of chapter 8's ablation, frozen; the hidden states of every layer
at each word's first piece (:func:`first_piece_layers`); each of the paper's choices of
layers (:data:`FEATURE_SETS`) under chapter 4's BiLSTM tagger
(:class:`ptm_lib.probing.FeatureTagger`), trained on the entity family's tweets
(:func:`feature_based_f1`) and scored by entity F1 on its test tweets, the score the
fine-tuned rows of the ablation grid report.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from . import probing, results, runtime
from .data import ner
from .data.batches import TensorBatches
from .models.bert import BERT
from .train import evaluating, fit

FEATURE_SETS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "embeddings": lambda h: h[[0]],
    "second-to-last hidden": lambda h: h[[-2]],
    "last hidden": lambda h: h[[-1]],
    "weighted sum of all layers": lambda h: h,
    "concat last four hidden": lambda h: torch.cat(list(h[-4:]), -1)[None],
}
"""Table 7's rows that our 4-layer encoder has, each a map from a sentence's layers
``(L + 1, n, d)`` to the tagger's input ``(K, n, D)``: ``K`` layers that the tagger mixes
with learned weights (:class:`~ptm_lib.models.elmo.ScalarMix`), or one layer. For our encoder
the last four hidden layers are all of them."""


def first_piece_layers(bert: BERT, batch: dict[str, torch.Tensor], batch_size: int = 64) -> list[torch.Tensor]:
    """For each sentence of a :func:`ptm_lib.data.ner.encode_tagged` batch, the frozen
    encoder's hidden states of every layer at each word's first piece: ``(L + 1, n_i, d)``,
    the words in order (those cut off by the length limit are absent)."""
    device = next(bert.parameters()).device
    out = []
    with evaluating(bert):
        for start in range(0, len(batch["ids"]), batch_size):
            ids = batch["ids"][start:start + batch_size].to(device)
            mask = batch["attention_mask"][start:start + batch_size].to(device)
            layers = torch.stack(bert(ids, attention_mask=mask).hidden_states, dim=1).float().cpu()  # (b, L+1, T, d)
            for row, word_index in zip(layers, batch["word_index"][start:start + batch_size]):
                out.append(row[:, word_index >= 0])
    return out


def _tags_at_first_pieces(batch: dict[str, torch.Tensor]) -> list[list[int]]:
    return [labels[word_index >= 0].tolist() for labels, word_index in zip(batch["labels"], batch["word_index"])]


def feature_based_f1(train_layers: Sequence[torch.Tensor], train_batch: dict[str, torch.Tensor],
                     test_layers: Sequence[torch.Tensor], test_batch: dict[str, torch.Tensor], test_sentences: list,
                     tags: Sequence[str], features: str, seed: int, epochs: int = 20) -> float:
    """Entity F1 on ``test_sentences`` of chapter 4's BiLSTM tagger trained with ``seed`` on the
    frozen ``features`` (a name of :data:`FEATURE_SETS`) of the training sentences. The layers
    come from :func:`first_piece_layers` of the two batches; a word cut off by the length
    limit is tagged ``O``, as :func:`ptm_lib.data.ner.decode_predictions` tags it after
    fine-tuning."""
    if features not in FEATURE_SETS:
        raise ValueError(f"unknown feature set {features!r}; choose from {list(FEATURE_SETS)}.")
    choose = FEATURE_SETS[features]
    train = probing.pad_features([choose(h) for h in train_layers], _tags_at_first_pieces(train_batch))
    test = probing.pad_features([choose(h) for h in test_layers])
    torch.manual_seed(seed)
    tagger = probing.FeatureTagger(train["features"].shape[2], train["features"].shape[3], len(tags))
    fit(tagger, TensorBatches(train, 16, seed=seed, bucket=8), probing.tagging_loss, epochs=epochs, lr=1e-2,
        schedule="linear", log_every=100, desc=f"{features}, seed {seed}")
    predicted = torch.zeros_like(test_batch["word_index"])
    for row, tag_ids in enumerate(probing.predict_tags(tagger, test)):
        predicted[row, test_batch["word_index"][row] >= 0] = torch.tensor(tag_ids, dtype=torch.long)
    return ner.entity_f1([s.tags for s in test_sentences],
                         ner.decode_predictions(predicted, test_batch, test_sentences, tags))["f1"]


# ------------------------------------------------------------------ the grid chapter 8 reads

PROGRAM = "python -m ptm_lib.feature_based"
ENCODER = "MLM (no NSP)"
"""The ablation's encoder whose fine-tuned entity F1 was best (:data:`ptm_lib.ablation.ENCODERS`)."""
EPOCHS = 20
"""Chapter 4's epochs for its tagger; at 10 the F1 of every feature set fell by half or more."""
RESULTS = "bert_features.json"


def run(features: Sequence[str], seeds: Sequence[int], encoder: str = ENCODER, epochs: int = EPOCHS,
        done: Callable[[dict], None] = lambda row: None) -> list[dict]:
    """Every feature set with every seed on the entity family (the layers computed once):
    rows of ``features``, ``seed``, ``f1`` and ``seconds``; ``done(row)`` after each. The
    family's 64-piece limit cuts the last words of a few tweets (27 of the 800 training and
    27 of the 477 test tweets for the book's tokenizer), as it did in the fine-tuned runs
    this is compared with; so the warning that says so is not repeated here."""
    from .ablation import ENCODERS, load_encoder
    from .finetune.families import families

    if not features or not seeds:
        raise ValueError("run needs at least one feature set and one seed.")
    bad = [f for f in features if f not in FEATURE_SETS]
    if bad:
        raise ValueError(f"unknown feature sets {bad}; choose from {list(FEATURE_SETS)}.")
    family = families(names=["entities"])["entities"]
    bert, tokenizer, _ = load_encoder(ENCODERS[encoder])
    tags = ner.tag_set(ner.entity_types(ner.load_wnut16()["train"]))
    with warnings.catch_warnings():  # the few tweets over 64 pieces are cut exactly as the fine-tuned runs cut them
        warnings.filterwarnings("ignore", message=".*longer than max_len", category=UserWarning)
        train_batch, test_batch = family.encode(tokenizer, family.train), family.encode(tokenizer, family.test)
    train_layers, test_layers = first_piece_layers(bert, train_batch), first_piece_layers(bert, test_batch)
    rows = []
    for name in features:
        for seed in seeds:
            start = time.perf_counter()
            f1 = feature_based_f1(train_layers, train_batch, test_layers, test_batch, family.test, tags, name, seed,
                                  epochs)
            rows.append({"features": name, "seed": seed, "f1": round(f1, 4),
                         "seconds": round(time.perf_counter() - start, 1)})
            done(rows[-1])
    return rows


def results_path() -> Path:
    """Where the book's grid is: ``data/results`` of a clone (or an editable install), or the
    copy a ``pip install`` puts under ``<sys.prefix>/share/ptm-lib/results``
    (:func:`ptm_lib.results.find`)."""
    return results.find(RESULTS, PROGRAM)


def load_results(path: Path | str | None = None) -> dict:
    """A grid written by :func:`main` (by default the book's, :func:`results_path`), with its
    runs checked by :func:`ptm_lib.results.load`: no feature set and seed is scored twice,
    and every feature set it describes has runs."""
    return results.load(path, RESULTS, PROGRAM, ('features', 'seed'), 'feature_sets')


def main(argv: list[str] | None = None) -> Path:
    """``python -m ptm_lib.feature_based [options]``: run the grid and write it to ``--out``."""
    parser = argparse.ArgumentParser(prog=PROGRAM, description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write (rewritten after every run)")
    parser.add_argument("--seeds", type=int, default=3, help="tagger seeds 0..N-1 (default: %(default)s)")
    parser.add_argument("--features", nargs="+", choices=list(FEATURE_SETS), default=list(FEATURE_SETS),
                        metavar="SET", help=f"which of {list(FEATURE_SETS)} (default: all)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's own choice)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds {args.seeds}: give 1 or more.")
    if args.out.is_dir():
        parser.error(f"--out {args.out} is a folder; give a file name such as {args.out / RESULTS}.")
    result = results.existing(parser, args.out, {"encoder": ENCODER, "epochs": EPOCHS}, models="feature_sets")
    runtime.set_threads(args.threads)
    run_record = results.run_record(PROGRAM, argv)
    result["feature_sets"].update({name: {"fine_tuning": run_record} for name in args.features})
    result["runs"] = [r for r in result["runs"] if r["features"] not in args.features]
    save = results.saver(args.out, result, run_record, lambda row: (
        f"{row['features']:>28}  seed {row['seed']}  entity F1 {row['f1']:.3f}  ({row['seconds']:.0f} s)"))
    run(args.features, range(args.seeds), epochs=EPOCHS, done=save)
    print(f"wrote {args.out} ({run_record['seconds']} s)")
    return args.out


if __name__ == "__main__":
    main()

__all__ = ["FEATURE_SETS", "first_piece_layers", "feature_based_f1", "ENCODER", "EPOCHS", "run", "RESULTS",
           "results_path", "load_results", "main"]
