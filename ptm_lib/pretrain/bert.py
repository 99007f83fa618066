"""Chapter 7's objective: train a small BERT on masked LM and next-sentence prediction.

    python -m ptm_lib.pretrain bert --steps 10000 --threads 1 --out data/checkpoints/bert_small.pt

The corpus is the book's pretraining text (:func:`ptm_lib.data.text.pretraining_texts`: the
Wikipedia sample and the BBC training articles) read as documents of sentences
(:func:`corpus_documents`) and cut into subwords by a WordPiece vocabulary learned from it
(:func:`book_tokenizer`). Each pass over the corpus draws new next-sentence pairs
(:func:`ptm_lib.data.mlm.nsp_pairs`) and every batch draws new masks
(:func:`ptm_lib.data.mlm.mask_for_mlm`): the masks are *dynamic*, as in RoBERTa (Liu et al.
2019, section 4.1), where Google's BERT fixed ten masks per sequence in advance. Held-out
masked-LM accuracy and next-sentence accuracy are measured on pairs from the BBC *test*
articles (:func:`held_out_documents`), which no pretraining run sees, with one fixed draw
of masks.

The checkpoint (:func:`ptm_lib.checkpoints.save`) holds the model, its WordPiece tokenizer
and the record of the run, with the held-out scores and the training curves.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Iterator, Sequence

import torch
import torch.nn.functional as F

from .. import runtime
from ..data import text
from ..data.mlm import PairExample, nsp_pairs, pretraining_batch
from ..data.wordpiece import WordPieceTokenizer, train_wordpiece
from ..models.bert import BertConfig, BertForPretraining, pretraining_loss
from ..train import IGNORE, evaluating, fit
from . import PROGRAM, check_config, int_at_least, train_and_save, training_parser


def sentence_documents(raw_texts: Iterable[str]) -> list[list[str]]:
    """Raw documents -> documents of normalised sentences (:func:`ptm_lib.data.text.sentences`:
    lowercased, words joined by spaces); a document with no sentence is dropped."""
    return [doc for doc in map(text.sentences, raw_texts) if doc]


def corpus_documents() -> list[list[str]]:
    """The pretraining corpus as documents of sentences: the same text as
    :func:`ptm_lib.data.text.pretraining_corpus`, with the sentence boundaries NSP needs."""
    return sentence_documents(text.pretraining_texts())


def held_out_documents() -> list[list[str]]:
    """The BBC test articles (never pretrained on), headline included, as documents of sentences."""
    return sentence_documents(raw for _, _, raw in text.held_out_articles())


def book_tokenizer(vocab_size: int = 4000) -> WordPieceTokenizer:
    """The WordPiece vocabulary of chapter 7's own BERT, learned from the pretraining corpus."""
    return train_wordpiece((" ".join(doc) for doc in corpus_documents()), vocab_size=vocab_size)


def encode_documents(tokenizer: WordPieceTokenizer, documents: Sequence[Sequence[str]]) -> list[list[list[int]]]:
    """Documents of sentences -> documents of sentences of token ids (no specials)."""
    flat = [s for doc in documents for s in doc]
    ids = iter(tokenizer.encode_batch(flat, add_specials=False))
    return [[next(ids) for _ in doc] for doc in documents]


class PretrainingBatches:
    """Masked, padded next-sentence batches for :func:`ptm_lib.models.bert.pretraining_loss`.

    Every pass draws new NSP pairs from ``documents`` (ids per sentence, as from
    :func:`encode_documents`) and shuffles them; every batch draws new masks. ``len()`` is
    the number of batches in the first pass (passes differ by a few pairs). ``max_pairs``
    keeps only the first that many pairs of each pass.
    """

    def __init__(self, documents, tokenizer: WordPieceTokenizer, max_len: int, batch_size: int, seed: int = 0,
                 max_pairs: int | None = None):
        self.documents, self.tokenizer, self.max_len, self.batch_size = documents, tokenizer, max_len, batch_size
        self.seed, self.passes, self.max_pairs = seed, 0, max_pairs
        self.generator = torch.Generator().manual_seed(seed)
        self._first = self._pairs(0)

    def _pairs(self, n: int) -> list[PairExample]:
        t = self.tokenizer
        rng = random.Random(self.seed * 1000 + n)
        pairs = nsp_pairs(self.documents, self.max_len, t.cls_id, t.sep_id, seed=rng)
        rng.shuffle(pairs)
        return pairs[:self.max_pairs]

    def __len__(self) -> int:
        return math.ceil(len(self._first) / self.batch_size)

    def __iter__(self) -> Iterator[dict]:
        pairs = self._first if self.passes == 0 else self._pairs(self.passes)
        self.passes += 1
        t = self.tokenizer
        for start in range(0, len(pairs), self.batch_size):
            yield pretraining_batch(pairs[start:start + self.batch_size], t.vocab_size, t.special_ids, t.mask_id,
                                    t.pad_id, generator=self.generator)


def fixed_batches(documents, tokenizer: WordPieceTokenizer, max_len: int, n_pairs: int = 512,
                  batch_size: int = 64, seed: int = 0) -> list[dict]:
    """One fixed draw of masked NSP batches (the first ``n_pairs`` pairs), for evaluation."""
    return list(PretrainingBatches(documents, tokenizer, max_len, batch_size, seed=seed, max_pairs=n_pairs))


def pretraining_metrics(model: BertForPretraining, batches: Sequence[dict]) -> dict[str, float]:
    """Masked-LM loss (nats per masked token) and accuracy, and NSP loss (nats per pair) and
    accuracy, on ``batches``."""
    with evaluating(model):
        totals = [_batch_metrics(model, batch) for batch in batches]
    nll, hits, masked, nsp_nll, nsp_hits, pairs = (sum(column) for column in zip(*totals))
    return {"mlm_loss": nll / masked, "mlm_accuracy": hits / masked, "nsp_loss": nsp_nll / pairs,
            "nsp_accuracy": nsp_hits / pairs}


def _batch_metrics(model: BertForPretraining, batch: dict) -> tuple[float, ...]:
    """Sums over one batch: masked-LM nll, hits and count; NSP nll, hits and count."""
    device = next(model.parameters()).device
    batch = {k: v.to(device) for k, v in batch.items()}
    out = model.bert(batch["ids"], batch["segments"], batch["attention_mask"])
    chosen = batch["labels"] != IGNORE
    logits, targets = model.mlm(out.hidden[chosen]).float(), batch["labels"][chosen]
    nsp_logits, nsp_target = model.nsp(out.pooled).float(), 1 - batch["is_next"]  # class 0 = IsNext
    return (F.cross_entropy(logits, targets, reduction="sum").item(), (logits.argmax(-1) == targets).sum().item(),
            chosen.sum().item(), F.cross_entropy(nsp_logits, nsp_target, reduction="sum").item(),
            (nsp_logits.argmax(-1) == nsp_target).sum().item(), len(batch["is_next"]))


def train(config: BertConfig, tokenizer: WordPieceTokenizer, steps: int, batch_size: int = 32, lr: float = 1e-3,
          seed: int = 0, device=None, eval_every: int = 500, documents: Sequence[Sequence[str]] | None = None,
          held_out: Sequence[Sequence[str]] | None = None):
    """Train a fresh :class:`BertForPretraining` for ``steps`` updates; returns ``(model, history)``.

    ``documents`` (sentences per document) default to :func:`corpus_documents` and
    ``held_out`` to :func:`held_out_documents`; pairs are ``config.max_len`` tokens at most.
    AdamW with a 5% warm-up and linear decay (appendix A.2 uses 1% warm-up over 1M steps);
    the history's ``val`` records hold :func:`pretraining_metrics`.
    """
    if tokenizer.vocab_size != config.vocab_size:
        raise ValueError(f"the tokenizer has {tokenizer.vocab_size} tokens but config.vocab_size is "
                         f"{config.vocab_size}; build the config from the tokenizer.")
    torch.manual_seed(seed)
    docs = encode_documents(tokenizer, documents if documents is not None else corpus_documents())
    held = encode_documents(tokenizer, held_out if held_out is not None else held_out_documents())
    eval_batches = fixed_batches(held, tokenizer, config.max_len, seed=seed)
    model = BertForPretraining(config).to(device or runtime.pick_device())
    history = fit(model, PretrainingBatches(docs, tokenizer, config.max_len, batch_size, seed), pretraining_loss,
                  steps=steps, lr=lr, schedule="linear", warmup=0.05, weight_decay=0.01,
                  evaluate=lambda m: pretraining_metrics(m, eval_batches),
                  eval_every=eval_every, log_every=50, desc="pretrain BERT")
    return model, history


def main(argv: list[str] | None = None) -> None:
    """``python -m ptm_lib.pretrain bert [options]``: train, then save the checkpoint at ``--out``."""
    program = f"{PROGRAM} bert"
    parser = training_parser(program, __doc__, steps=6000, seq=128,
                             seq_help="longest [CLS] A [SEP] B [SEP] (max_len)", d_model=128, layers=4, lr=1e-3,
                             min_seq=5)
    parser.add_argument("--heads", type=int_at_least(1), default=4, help="attention heads (default: %(default)s)")
    parser.add_argument("--vocab", type=int_at_least(1), default=4000,
                        help="WordPiece vocabulary size, specials included (default: %(default)s)")
    args = parser.parse_args(argv)
    check_config(parser, lambda: BertConfig(vocab_size=args.vocab, max_len=args.seq, d_model=args.d_model,
                                            n_layers=args.layers, n_heads=args.heads))
    runtime.set_threads(args.threads)
    tokenizer = book_tokenizer(args.vocab)
    config = BertConfig(vocab_size=tokenizer.vocab_size, max_len=args.seq, d_model=args.d_model,
                        n_layers=args.layers, n_heads=args.heads)
    train_and_save(program, argv, args, tokenizer,
                   lambda: train(config, tokenizer, args.steps, args.batch_size, args.lr, args.seed),
                   lambda model, history: {
                       **{"held_out_" + k: round(v, 4) for k, v in history.val[-1].items() if k != "step"},
                       "train_loss": [[r["step"], round(r["loss"], 4)] for r in history.train],
                       "val": [{k: round(v, 4) for k, v in r.items()} for r in history.val]})

__all__ = ["sentence_documents", "corpus_documents", "held_out_documents", "book_tokenizer", "encode_documents",
           "PretrainingBatches", "fixed_batches", "pretraining_metrics", "train", "main"]
