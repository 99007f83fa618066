"""Chapter 4's pretraining entry point: train the ELMo biLM on the book's corpus and save a checkpoint.

The same recipe as :mod:`ptm_lib.pretrain` (which trains GPT), for the biLM of
:mod:`ptm_lib.models.elmo`::

    python -m ptm_lib.pretrain_elmo --steps 4000 --out data/checkpoints/elmo_small.pt

The corpus is :func:`ptm_lib.data.text.pretraining_corpus` (Wikipedia sample plus the BBC
training articles), cut into windows of ``--seq`` words; the word vocabulary (the
softmax) keeps the words seen at least ``--min-count`` times (5), the rest are ``<unk>``
as targets, while the character encoder still reads their spelling. Held-out perplexity
of each direction is measured on windows of the BBC *test* articles, which no
pretraining run sees.

The checkpoint holds the config, fp16 weights, the word vocabulary and a ``meta`` record
(command, steps, tokens seen, seconds, hardware, torch version, held-out perplexities);
:func:`ptm_lib.models.elmo.load_elmo` reads it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import torch

from . import runtime
from .data import text
from .data.lm import Batches
from .data.vocab import Vocab
from .models.elmo import (SPECIALS, BiLM, BiLMConfig, bilm_loss, build_vocab, corpus_windows, direction_perplexity,
                          save_elmo)
from .pretrain import check_config, int_at_least, report, run_record, save_or_rescue, training_parser
from .train import fit


def held_out_documents() -> list[list[str]]:
    """The BBC test articles (never in the pretraining corpus), tokenised like the corpus."""
    articles = text.load_bbc()
    return [text.tokenize(articles[i][2]) for i in text.bbc_split()["test"]]


def _batches(words: torch.Tensor, chars: torch.Tensor, config: BiLMConfig, batch_size: int, **kw) -> Batches:
    """Batches of ``(words, chars)``, or of ``words`` alone for the word encoder."""
    return Batches(words, chars if config.encoder == "char" else None, batch_size, **kw)


def pretrain_elmo(config: BiLMConfig, vocab: Vocab, steps: int, batch_size: int = 32, seq_len: int = 32,
                  lr: float = 2e-3, seed: int = 0, device=None, eval_every: int = 500,
                  documents: Sequence[Sequence[str]] | None = None,
                  held_out: Sequence[Sequence[str]] | None = None, max_held_out: int = 256):
    """Train a fresh :class:`~ptm_lib.models.elmo.BiLM` for ``steps`` updates; returns ``(model, history)``.

    ``documents`` default to the pretraining corpus and ``held_out`` to the BBC test
    articles (first ``max_held_out`` windows). AdamW with a 5% warm-up and cosine decay;
    the history's ``val`` records hold ``forward``/``backward`` held-out perplexities.
    """
    if len(vocab) != config.vocab_size:
        raise ValueError(f"config.vocab_size={config.vocab_size} but the vocabulary has {len(vocab)} words.")
    torch.manual_seed(seed)
    documents = text.pretraining_corpus() if documents is None else documents
    held_out = held_out_documents() if held_out is None else held_out
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
    parser = training_parser("python -m ptm_lib.pretrain_elmo", __doc__, steps=4000, seq=32,
                             seq_help="words per training window", d_model=128, layers=2, lr=2e-3)
    parser.add_argument("--lstm-hidden", type=int_at_least(1), default=None,
                        help="LSTM cell size (projected to d-model)")
    parser.add_argument("--encoder", choices=["char", "word"], default="char")
    parser.add_argument("--max-chars", type=int_at_least(1), default=20)
    parser.add_argument("--min-count", type=int_at_least(1), default=5)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--eval-every", type=int_at_least(1), default=500)
    args = parser.parse_args(argv)
    check_config(parser, lambda: _config(args, vocab_size=len(SPECIALS)))  # the real vocabulary comes later
    runtime.set_threads(args.threads)
    documents = text.pretraining_corpus()
    vocab = build_vocab(documents, min_count=args.min_count)
    config = _config(args, vocab_size=len(vocab))
    start = time.perf_counter()
    model, history = pretrain_elmo(config, vocab, args.steps, args.batch_size, args.seq, args.lr, args.seed,
                                   eval_every=args.eval_every, documents=documents)
    meta = run_record("python -m ptm_lib.pretrain_elmo", argv, model, args.steps, args.batch_size * args.seq,
                      time.perf_counter() - start)
    meta.update({"parameters": model.num_parameters(),
                 "held_out_perplexity": {k: round(history.last(k), 2) for k in ("forward", "backward")},
                 "train_loss": [[r["step"], round(r["loss"], 4)] for r in history.train],
                 "val_perplexity": [[r["step"], round(r["forward"], 2), round(r["backward"], 2)]
                                    for r in history.val]})
    report(save_or_rescue(lambda out: save_elmo(out, model.cpu(), vocab, meta), args.out), meta)

if __name__ == "__main__":
    main()
