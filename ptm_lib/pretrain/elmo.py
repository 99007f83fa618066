"""Chapter 4's objective: train the ELMo biLM, a forward and a backward language model.

    python -m ptm_lib.pretrain elmo --steps 4000 --threads 1 --out data/checkpoints/elmo_small.pt

The corpus is :func:`ptm_lib.data.text.pretraining_corpus` (Wikipedia sample plus the BBC
training articles), cut into windows of ``--seq`` words; the word vocabulary (the
softmax) keeps the words seen at least ``--min-count`` times (5), the rest are ``<unk>``
as targets, while the character encoder still reads their spelling. Held-out perplexity
of each direction is measured on windows of the BBC *test* articles
(:func:`ptm_lib.data.text.held_out_corpus`), which no pretraining run sees. The model is
:class:`ptm_lib.models.elmo.BiLM`.

The checkpoint (:func:`ptm_lib.checkpoints.save`) holds the model, its word vocabulary and
the record of the run, with the parameter count, the held-out perplexities and the curves.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .. import runtime
from ..data import text
from ..data.bilm import SPECIALS, build_vocab, corpus_windows
from ..data.lm import Batches
from ..data.vocab import Vocab
from ..models.elmo import BiLM, BiLMConfig, bilm_loss, direction_perplexity
from ..train import fit
from . import PROGRAM, check_config, int_at_least, train_and_save, training_parser


def _batches(words: torch.Tensor, chars: torch.Tensor, config: BiLMConfig, batch_size: int, **kw) -> Batches:
    """Batches of ``(words, chars)``, or of ``words`` alone for the word encoder."""
    return Batches(words, chars if config.encoder == "char" else None, batch_size, **kw)


def train(config: BiLMConfig, vocab: Vocab, steps: int, batch_size: int = 32, seq_len: int = 32, lr: float = 2e-3,
          seed: int = 0, device=None, eval_every: int = 500, documents: Sequence[Sequence[str]] | None = None,
          held_out: Sequence[Sequence[str]] | None = None, max_held_out: int = 256):
    """Train a fresh :class:`~ptm_lib.models.elmo.BiLM` for ``steps`` updates; returns ``(model, history)``.

    ``documents`` (token lists) default to the pretraining corpus and ``held_out`` to the
    BBC test articles (first ``max_held_out`` windows). AdamW with a 5% warm-up and cosine
    decay; the history's ``val`` records hold ``forward``/``backward`` held-out perplexities.
    """
    if len(vocab) != config.vocab_size:
        raise ValueError(f"config.vocab_size={config.vocab_size} but the vocabulary has {len(vocab)} words.")
    torch.manual_seed(seed)
    documents = text.pretraining_corpus() if documents is None else documents
    held_out = text.held_out_corpus() if held_out is None else held_out
    words, chars = corpus_windows(documents, vocab, seq_len, config.max_chars)
    val_words, val_chars = corpus_windows(held_out, vocab, seq_len, config.max_chars)
    val = _batches(val_words[:max_held_out], val_chars[:max_held_out], config, 64, shuffle=False)
    model = BiLM(config).to(device or runtime.pick_device())
    history = fit(model, _batches(words, chars, config, batch_size, seed=seed), bilm_loss, steps=steps, lr=lr,
                  schedule="cosine", warmup=0.05, evaluate=lambda m: direction_perplexity(m, val),
                  eval_every=eval_every, log_every=50, desc="pretrain biLM")
    return model, history


def _config(args, vocab_size: int) -> BiLMConfig:
    """The biLM's config from the command-line options."""
    return BiLMConfig(vocab_size=vocab_size, d_model=args.d_model, lstm_hidden=args.lstm_hidden, n_layers=args.layers,
                      encoder=args.encoder, max_chars=args.max_chars, dropout=args.dropout)


def main(argv: list[str] | None = None) -> None:
    """``python -m ptm_lib.pretrain elmo [options]``: train, then save the checkpoint at ``--out``."""
    program = f"{PROGRAM} elmo"
    parser = training_parser(program, __doc__, steps=4000, seq=32, seq_help="words per training window",
                             d_model=128, layers=2, lr=2e-3)
    parser.add_argument("--lstm-hidden", type=int_at_least(1), default=None,
                        help="LSTM cell size, projected to --d-model (default: --d-model, no projection)")
    parser.add_argument("--encoder", choices=["char", "word"], default="char",
                        help="token encoder: a character CNN or a word table (default: %(default)s)")
    parser.add_argument("--max-chars", type=int_at_least(1), default=20,
                        help="characters read per word (default: %(default)s)")
    parser.add_argument("--min-count", type=int_at_least(1), default=5,
                        help="fewest occurrences of a word in the softmax (default: %(default)s)")
    parser.add_argument("--dropout", type=float, default=0.1, help="dropout (default: %(default)s)")
    parser.add_argument("--eval-every", type=int_at_least(1), default=500,
                        help="steps between held-out measurements (default: %(default)s)")
    args = parser.parse_args(argv)
    check_config(parser, lambda: _config(args, vocab_size=len(SPECIALS)))  # the real vocabulary comes later
    runtime.set_threads(args.threads)
    documents = text.pretraining_corpus()
    vocab = build_vocab(documents, min_count=args.min_count)
    config = _config(args, vocab_size=len(vocab))
    train_and_save(program, argv, args, vocab,
                   lambda: train(config, vocab, args.steps, args.batch_size, args.seq, args.lr, args.seed,
                                 eval_every=args.eval_every, documents=documents),
                   lambda model, history: {
                       "parameters": model.num_parameters(),
                       "held_out_perplexity": {k: round(history.last(k), 2) for k in ("forward", "backward")},
                       "train_loss": [[r["step"], round(r["loss"], 4)] for r in history.train],
                       "val_perplexity": [[r["step"], round(r["forward"], 2), round(r["backward"], 2)]
                                          for r in history.val]})

__all__ = ["train", "main"]
