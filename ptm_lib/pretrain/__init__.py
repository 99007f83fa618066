"""The book's pretraining entry points: train a model on the book's corpus and save a checkpoint.

A chapter trains its model in the reader's session whenever a CPU can do it in a couple of
minutes. Some results need longer; then the chapter loads a checkpoint made by one of these
entry points instead, and says so, and anyone can remake it. The book's checkpoints
(``data/checkpoints``; ``data/README.md`` lists all six with their commands) are remade by
commands such as::

    python -m ptm_lib.pretrain gpt --steps 8000 --batch-size 16 --seq 128 --lr 3e-3 --threads 1 \\
        --out data/checkpoints/gpt_small.pt
    python -m ptm_lib.pretrain gpt --text running --steps 8000 --batch-size 16 --seq 128 --lr 3e-3 \\
        --threads 1 --out data/checkpoints/gpt_running_text.pt
    python -m ptm_lib.pretrain bert --steps 10000 --threads 1 --out data/checkpoints/bert_small.pt
    python -m ptm_lib.pretrain elmo --steps 4000 --threads 1 --out data/checkpoints/elmo_small.pt

``python -m ptm_lib.pretrain --help`` lists the objectives, and ``python -m ptm_lib.pretrain
OBJECTIVE --help`` the options of one. Each objective is a module (:data:`OBJECTIVES`) with
``train(...)``, which a chapter calls to train in its session, and ``main(argv)``, the
command line:

* ``gpt`` -- :mod:`ptm_lib.pretrain.gpt` (chapter 6): next-token prediction on BPE subwords,
  of the lowercased words or (``--text running``) of the text as written;
* ``bert`` -- :mod:`ptm_lib.pretrain.bert` (chapter 7): masked LM and next-sentence
  prediction on WordPiece subwords, or (``--objective mlm``) the masked LM alone;
* ``elmo`` -- :mod:`ptm_lib.pretrain.elmo` (chapter 4): forward and backward LSTM language
  models over characters, with a word softmax.

All of them read the same documents (:func:`ptm_lib.data.text.pretraining_corpus`: the
Wikipedia sample and the BBC training articles, 1.13M words) and measure on the BBC *test*
articles (:func:`ptm_lib.data.text.held_out_articles`), which no pretraining run ever sees.
Each saves one file with :func:`ptm_lib.checkpoints.save`: the model, its tokenizer or
vocabulary, and a record of how it was made (:func:`ptm_lib.checkpoints.run_record`: the
command, steps, tokens seen, seconds, hardware, torch version, held-out scores).

This module holds what the entry points share: their command line (:func:`training_parser`
and its argparse types), :func:`check_config`, :func:`save_or_rescue`, :func:`report`, and
:func:`main`, which runs the objective named first. A new objective is one module with
``train`` and ``main(argv)``, one line in :data:`OBJECTIVES`, and, for a new kind of model,
one entry in :data:`ptm_lib.checkpoints.KINDS`.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PROGRAM = "python -m ptm_lib.pretrain"

OBJECTIVES = {
    "gpt": "chapter 6's GPT: next-token prediction on BPE subwords",
    "bert": "chapter 7's BERT: masked LM and next-sentence prediction (or the masked LM alone) on WordPiece subwords",
    "elmo": "chapter 4's ELMo biLM: forward and backward LSTM language models over characters",
}
"""Every objective ``python -m ptm_lib.pretrain`` trains, with its one-line description; the
objective ``name`` is the module ``ptm_lib.pretrain.<name>``, whose ``main(argv)`` runs it."""


def main(argv: list[str] | None = None) -> None:
    """``python -m ptm_lib.pretrain OBJECTIVE [options]``: the objective's ``main(options)``."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in OBJECTIVES:
        importlib.import_module(f"{__name__}.{argv[0]}").main(argv[1:])
        return
    parser = command_parser()
    if argv and argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        named = [a for a in argv if a in OBJECTIVES]
        rest = list(argv)
        if named:
            rest.remove(named[0])
        parser.error(f"the objective comes first, then its options: {PROGRAM} "
                     f"{named[0] if named else '|'.join(OBJECTIVES)} {' '.join(rest)}")
    parser.parse_args(argv[:1])  # --help, or no objective or an unknown one: argparse says so


def command_parser() -> argparse.ArgumentParser:
    """The top-level command line: the objective, then that objective's own options."""
    listing = "\n".join(f"  {name:<6}{about}" for name, about in OBJECTIVES.items())
    parser = argparse.ArgumentParser(
        prog=PROGRAM, usage=f"{PROGRAM} [-h] {{{','.join(OBJECTIVES)}}} [options]",
        formatter_class=argparse.RawDescriptionHelpFormatter, description=__doc__.split("\n\n")[0],
        epilog=f"objectives:\n{listing}\n\nThe options of each (--out, --steps, ...): {PROGRAM} OBJECTIVE --help")
    parser.add_argument("objective", choices=list(OBJECTIVES), help="what to pretrain (below)")
    return parser


# ----------------------------------------------------------------------------- the shared command line


def int_at_least(low: int) -> Callable[[str], int]:
    """An argparse ``type``: a whole number of at least ``low``; argparse names the option."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; give one of at least {low}.") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"got {value}; give a whole number of at least {low}.")
        return value

    parse.__name__ = f"whole number >= {low}"
    return parse


def positive_float(text: str) -> float:
    """An argparse ``type``: a finite number above zero (a learning rate)."""
    return _number(text, lambda v: math.isfinite(v) and v > 0, "a finite number above 0", "1e-3")


def share(text: str) -> float:
    """An argparse ``type``: a number strictly between 0 and 1 (a masking rate, a warm-up share)."""
    return _number(text, lambda v: 0.0 < v < 1.0, "a number strictly between 0 and 1", "0.15")


def _number(text: str, ok: Callable[[float], bool], wanted: str, example: str) -> float:
    """``float(text)`` if it is a number that is ``ok``; otherwise the usage error argparse
    shows beside the option's name, saying what is ``wanted``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give {wanted}, such as {example}.") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f"got {text}; give {wanted}, such as {example}.")
    return value


def checkpoint_file(text: str) -> str:
    """An argparse ``type`` for ``--out``: a ``.pt`` file that can be written, checked before
    any training so that a long run cannot fail when it saves."""
    path = Path(text).expanduser()
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder; give a file path in it, e.g. {path / 'model.pt'}.")
    if path.suffix != ".pt":
        raise argparse.ArgumentTypeError(f"{text!r} does not end in .pt; give a checkpoint file name such as "
                                         f"{path.with_name(path.stem + '.pt') if path.name else 'model.pt'}.")
    existing = next(p for p in path.absolute().parents if p.exists())
    if not existing.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} cannot be created: {existing} is a file, not a folder; "
                                         "choose another path.")
    if not os.access(existing, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise argparse.ArgumentTypeError(f"{text!r} cannot be written (no write permission in {existing}); "
                                         "choose a folder you can write to.")
    return text


def training_parser(prog: str, doc: str, steps: int, seq: int, seq_help: str, d_model: int, layers: int,
                    lr: float, min_seq: int = 2) -> argparse.ArgumentParser:
    """The command line every pretraining entry point shares: ``--out``, ``--steps``,
    ``--batch-size``, ``--seq``, ``--d-model``, ``--layers``, ``--lr``, ``--seed``, ``--threads``
    (with the given defaults); each entry point adds its own options. ``prog`` is the
    command (``python -m ptm_lib.pretrain gpt``); ``--help`` shows the first paragraph of
    ``doc`` and, if the second is a ``python -m`` command, that as an example. Values that
    cannot work (``--steps 0``, ``--seq`` below ``min_seq``, ``--lr nan``, ``--out`` a
    folder...) are usage errors naming the option."""
    paragraphs = doc.split("\n\n")
    example = next((p for p in paragraphs[1:2] if p.lstrip().startswith("python -m")), None)
    parser = argparse.ArgumentParser(prog=prog, description=paragraphs[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=f"for example:\n{example}" if example else None)
    parser.add_argument("--out", required=True, type=checkpoint_file,
                        help="checkpoint file to write (.pt); load it with ptm_lib.checkpoints.load")
    parser.add_argument("--steps", type=int_at_least(1), default=steps,
                        help="optimizer updates (default: %(default)s)")
    parser.add_argument("--batch-size", type=int_at_least(1), default=32,
                        help="sequences per update (default: %(default)s)")
    parser.add_argument("--seq", type=int_at_least(min_seq), default=seq, help=f"{seq_help} (default: %(default)s)")
    parser.add_argument("--d-model", type=int_at_least(1), default=d_model, help="model width (default: %(default)s)")
    parser.add_argument("--layers", type=int_at_least(1), default=layers, help="layers (default: %(default)s)")
    parser.add_argument("--lr", type=positive_float, default=lr, help="peak learning rate (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--threads", type=int_at_least(1), default=None,
                        help="CPU threads (default: torch's own choice)")
    return parser


def check_config(parser: argparse.ArgumentParser, make: Callable[[], object]) -> None:
    """Build the model's config from the options before any work, so that a combination no
    model can have (``--heads`` that does not divide ``--d-model``...) is a usage error."""
    try:
        make()
    except ValueError as error:
        parser.error(f"these options describe no valid model: {error}")


def save_or_rescue(save: Callable[[Path], Path], out) -> Path:
    """``save(out)``; if that fails after a long run (disk full, folder removed), save to the
    temporary folder instead and exit with a message saying where, so no work is lost.
    (``torch.save`` reports a failed write as a ``RuntimeError``.)"""
    try:
        return save(Path(out))
    except (OSError, RuntimeError) as error:
        rescue = Path(tempfile.gettempdir()) / f"{Path(out).stem}-rescued-{time.strftime('%Y%m%d-%H%M%S')}.pt"
        save(rescue)
        raise SystemExit(f"could not write {out} ({error}); the trained model was saved to {rescue} instead: "
                         "move it where you want it.") from error


def train_and_save(program: str, argv: list[str] | None, args: argparse.Namespace, vocabulary,
                   train: Callable[[], tuple], scores: Callable[[object, object], dict]) -> Path:
    """How every entry point ends: ``train()`` (returns ``(model, history)``), the record of
    the run (:func:`ptm_lib.checkpoints.run_record`, then the objective's ``scores(model,
    history)``: held-out results and curves), the model saved with its ``vocabulary`` at
    ``args.out`` (:func:`save_or_rescue`), and the record printed (:func:`report`)."""
    from .. import checkpoints

    start = time.perf_counter()
    model, history = train()
    meta = checkpoints.run_record(program, argv, model, args.steps, args.batch_size * args.seq,
                                  time.perf_counter() - start)
    meta.update(scores(model, history))
    path = save_or_rescue(lambda out: checkpoints.save(out, model.cpu(), vocabulary, meta), args.out)
    report(path, meta)
    return path


def report(path: Path, meta: dict) -> None:
    """Print a checkpoint's record (without its curves) and its size."""
    print(json.dumps({k: v for k, v in meta.items() if not isinstance(v, list)}))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


__all__ = ["PROGRAM", "OBJECTIVES", "main", "command_parser", "int_at_least", "positive_float", "share",
           "checkpoint_file", "training_parser", "check_config", "save_or_rescue", "train_and_save", "report"]
