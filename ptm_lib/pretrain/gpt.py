"""Chapter 6's objective: train a GPT to predict the next subword of the book's corpus.

    python -m ptm_lib.pretrain gpt --steps 8000 --batch-size 16 --seq 128 --lr 3e-3 --threads 1 \\
        --out data/checkpoints/gpt_small.pt

The corpus is :func:`ptm_lib.data.text.pretraining_corpus` as normalised text
(:func:`corpus_texts`), cut into subwords by a BPE tokenizer learned from it
(:func:`book_tokenizer`) and read as one stream of rows of ``--seq + 1`` tokens; the
held-out text is the BBC test articles (:func:`held_out_texts`). The checkpoint
(:func:`ptm_lib.checkpoints.save`) holds the model, its tokenizer and the record of the
run, with the held-out perplexity and the training curves.
"""

from __future__ import annotations

import math
import re
import unicodedata

import numpy as np
import torch

from .. import runtime
from ..data import lm, text
from ..data.bpe import BPETokenizer, train_bpe
from ..models.gpt import GPT, lm_loss
from ..models.transformer import TransformerConfig
from ..train import evaluating, fit
from . import PROGRAM, check_config, int_at_least, train_and_save, training_parser


def corpus_texts() -> list[str]:
    """The pretraining corpus as one lowercased, space-separated string per document."""
    return [" ".join(words) for words in text.pretraining_corpus()]


def held_out_texts() -> list[str]:
    """The BBC test articles (never in the pretraining corpus), normalised the same way."""
    return [" ".join(words) for words in text.held_out_corpus()]


def running_text(raw: str) -> str:
    """``raw`` as it was written, cased and punctuated, in ASCII on one line: accents and
    typographic quotes folded (NFKD), other characters dropped, whitespace runs made one space.

    >>> running_text("Caf\u00e9 \u201cnoir\u201d,\\n\\nsaid \u03a3 Anna.")
    'Cafe "noir", said Anna.'
    """
    folded = unicodedata.normalize("NFKD", raw.translate(_TYPOGRAPHY)).encode("ascii", "ignore").decode()
    return " ".join(_PRINTABLE.sub(" ", folded).split())


_TYPOGRAPHY = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})
_PRINTABLE = re.compile(r"[^\x20-\x7e]")

TEXT_FORMS = {"words": "lowercased words without punctuation, the book's normalised text (corpus_texts)",
              "running": "the text as written, cased and punctuated (running_texts)"}
"""The two forms of the corpus ``--text`` chooses between."""


def running_texts() -> list[str]:
    """The pretraining corpus as :func:`running_text`: the same documents as :func:`corpus_texts`."""
    return [running_text(raw) for raw in text.pretraining_texts()]


def held_out_running_texts() -> list[str]:
    """The BBC test articles as :func:`running_text` (the same articles as :func:`held_out_texts`)."""
    return [running_text(raw) for _, _, raw in text.held_out_articles()]


def texts_of(form: str) -> tuple[list[str], list[str]]:
    """``(pretraining texts, held-out texts)`` in one of :data:`TEXT_FORMS`."""
    if form not in TEXT_FORMS:
        raise ValueError(f"unknown text form {form!r}; choose one of {sorted(TEXT_FORMS)}")
    return (corpus_texts(), held_out_texts()) if form == "words" else (running_texts(), held_out_running_texts())


def book_tokenizer(vocab_size: int = 2000, form: str = "words") -> BPETokenizer:
    """The BPE tokenizer of chapters 6 and on: ``vocab_size`` subwords learned from the corpus
    in text ``form`` (:data:`TEXT_FORMS`)."""
    return train_bpe(texts_of(form)[0], vocab_size=vocab_size)


def token_stream(tokenizer: BPETokenizer, texts: list[str]) -> torch.Tensor:
    """All documents' token ids, one after another, as a 1-D int64 tensor."""
    return torch.from_numpy(np.concatenate([np.asarray(ids, dtype=np.int64) for ids in tokenizer.encode_batch(texts)]))


def stream_perplexity(model: GPT, rows: torch.Tensor, batch_size: int = 64) -> float:
    """Perplexity per token of ``model`` on ``(N, T + 1)`` rows from :func:`ptm_lib.data.lm.chunks`."""
    device = next(model.parameters()).device
    with evaluating(model):
        total = sum(lm_loss(model, rows[i:i + batch_size].to(device)).item() * len(rows[i:i + batch_size])
                    for i in range(0, len(rows), batch_size))
    return math.exp(total / len(rows))


def train(config: TransformerConfig, tokenizer: BPETokenizer, steps: int, batch_size: int = 32, lr: float = 3e-3,
          seed: int = 0, device=None, eval_every: int = 500, form: str = "words"):
    """Train a fresh GPT on the corpus for ``steps`` updates; returns ``(model, history)``.

    Rows of ``config.max_len + 1`` tokens of the corpus in text ``form`` (:data:`TEXT_FORMS`),
    AdamW with a 5% warm-up and cosine decay; the history's ``val`` records hold the
    held-out perplexity (first 640 held-out rows).
    """
    torch.manual_seed(seed)
    corpus, held_out_text = texts_of(form)
    rows = lm.chunks(token_stream(tokenizer, corpus), config.max_len)
    held_out = lm.chunks(token_stream(tokenizer, held_out_text), config.max_len)[:640]
    model = GPT(config).to(device or runtime.pick_device())
    history = fit(model, lm.Batches(rows, None, batch_size, seed=seed), lm_loss, steps=steps, lr=lr,
                  schedule="cosine", warmup=0.05, weight_decay=0.01,
                  evaluate=lambda m: {"perplexity": stream_perplexity(m, held_out)},
                  eval_every=eval_every, log_every=50, desc="pretrain GPT")
    return model, history


def main(argv: list[str] | None = None) -> None:
    """``python -m ptm_lib.pretrain gpt [options]``: train, then save the checkpoint at ``--out``."""
    program = f"{PROGRAM} gpt"
    parser = training_parser(program, __doc__, steps=6000, seq=64, seq_help="context length (max_len)",
                             d_model=128, layers=2, lr=3e-3)
    parser.add_argument("--heads", type=int_at_least(1), default=4, help="attention heads (default: %(default)s)")
    parser.add_argument("--vocab", type=int_at_least(1), default=2000,
                        help="BPE vocabulary size, specials included (default: %(default)s)")
    parser.add_argument("--text", choices=list(TEXT_FORMS), default="words",
                        help="the corpus as lowercased words (the book's normalised text) or as running text, "
                             "cased and punctuated (default: %(default)s)")
    args = parser.parse_args(argv)
    check_config(parser, lambda: TransformerConfig(vocab_size=args.vocab, max_len=args.seq, d_model=args.d_model,
                                                   n_layers=args.layers, n_heads=args.heads))
    runtime.set_threads(args.threads)
    tokenizer = book_tokenizer(args.vocab, args.text)
    config = TransformerConfig(vocab_size=tokenizer.vocab_size, max_len=args.seq, d_model=args.d_model,
                               n_layers=args.layers, n_heads=args.heads)
    train_and_save(program, argv, args, tokenizer,
                   lambda: train(config, tokenizer, args.steps, args.batch_size, args.lr, args.seed,
                                                 form=args.text),
                   lambda model, history: {
                       "held_out_perplexity": round(history.last("perplexity"), 2),
                       "train_loss": [[r["step"], round(r["loss"], 4)] for r in history.train],
                       "val_perplexity": [[r["step"], round(r["perplexity"], 2)] for r in history.val]})

__all__ = ["corpus_texts", "held_out_texts", "running_text", "running_texts", "held_out_running_texts",
           "TEXT_FORMS", "texts_of", "book_tokenizer", "token_stream", "stream_perplexity", "train", "main"]
