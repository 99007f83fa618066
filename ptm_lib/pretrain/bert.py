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

``--objective mlm`` trains the masked LM alone, on rows cut from the corpus read as one
stream (:func:`token_rows`, :class:`MaskedRows`), as RoBERTa does without NSP (Liu et al.
2019, section 4.2); ``--mask-rate`` chooses the share of tokens predicted (15% in the paper;
Wettig et al. 2023 found higher rates train better), and ``--norm pre`` the pre-norm stack
(Xiong et al. 2020); ``--attention left-to-right`` trains the same model blind to the
right-hand context, the control of chapter 7's experiment. Its held-out scores
(:func:`masked_lm_metrics`) include the accuracy at ``[MASK]`` positions alone: the one
place where a model cannot copy its input. ``--objective ltr --attention left-to-right``
trains the same encoder as a left-to-right language model on the same rows, every next
token predicted and nothing masked (:class:`NextTokenRows`): the "LTR & No NSP" model of
the paper's ablation (Devlin et al. 2019, section 5.1), for chapter 8.

The checkpoint (:func:`ptm_lib.checkpoints.save`) holds the model, its WordPiece tokenizer
and the record of the run, with the held-out scores and the training curves.
"""

from __future__ import annotations

import argparse
import math
import random
from collections.abc import Iterable, Iterator, Sequence

import torch
import torch.nn.functional as F

from .. import checkpoints, runtime
from ..data import text
from ..data.mlm import PairExample, mask_for_mlm, nsp_pairs, pretraining_batch
from ..data.wordpiece import WordPieceTokenizer, train_wordpiece
from ..models.bert import ATTENTION, BertConfig, BertForPretraining, mlm_loss, pretraining_loss
from ..train import IGNORE, evaluating, fit
from . import PROGRAM, check_config, int_at_least, share, train_and_save, training_parser


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


VOCAB_SIZE = 4000
"""The size of chapter 7's own WordPiece vocabulary, specials included."""


def book_tokenizer(vocab_size: int = VOCAB_SIZE) -> WordPieceTokenizer:
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
    keeps only the first that many pairs of each pass; ``mask_rate`` is the share of tokens
    the masked LM predicts (BERT: 0.15).
    """

    def __init__(self, documents, tokenizer: WordPieceTokenizer, max_len: int, batch_size: int, seed: int = 0,
                 max_pairs: int | None = None, mask_rate: float = 0.15):
        self.documents, self.tokenizer, self.max_len, self.batch_size = documents, tokenizer, max_len, batch_size
        self.seed, self.passes, self.max_pairs, self.mask_rate = seed, 0, max_pairs, mask_rate
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
                                    t.pad_id, self.mask_rate, generator=self.generator)


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
    nsp_logits, nsp_target = model.nsp(out.pooled).float(), 1 - batch["is_next"]  # class 0 = IsNext
    return (*_mlm_sums(model, out.hidden, batch)[:3], F.cross_entropy(nsp_logits, nsp_target, reduction="sum").item(),
            (nsp_logits.argmax(-1) == nsp_target).sum().item(), len(batch["is_next"]))


def _mlm_sums(model: BertForPretraining, hidden: torch.Tensor, batch: dict,
              mask_id: int = -1) -> tuple[int | float, ...]:
    """Sums over the chosen positions of one batch (labels not -100), from the last hidden
    states ``(B, T, d)``: masked-LM nll, hits and count; then hits and count at the positions
    whose input is ``mask_id``."""
    chosen = batch["labels"] != IGNORE
    logits, targets = model.mlm(hidden[chosen]).float(), batch["labels"][chosen]
    right = logits.argmax(-1) == targets
    at_mask = batch["ids"][chosen] == mask_id
    return (F.cross_entropy(logits, targets, reduction="sum").item(), right.sum().item(), len(targets),
            right[at_mask].sum().item(), at_mask.sum().item())


OBJECTIVES = ("mlm+nsp", "mlm", "ltr")
"""What :func:`train` can optimise: BERT's masked LM plus next-sentence prediction on sentence
pairs (the paper), the masked LM alone on rows of running text, or a left-to-right LM on the
same rows (the paper's "LTR & No NSP" ablation, section 5.1)."""


def token_rows(documents: Sequence[Sequence[Sequence[int]]], tokenizer: WordPieceTokenizer,
               max_len: int) -> torch.Tensor:
    """Every document's ids one after another, cut into rows ``[CLS] t_1 .. t_{max_len-2} [SEP]``:
    ``(N, max_len)`` int64. Rows cross sentence and document boundaries unmarked, as
    RoBERTa's FULL-SENTENCES inputs do; the last partial row is dropped."""
    if max_len < 3:
        raise ValueError(f"max_len={max_len} leaves no room for a token between [CLS] and [SEP]; use 3 or more.")
    stream = torch.tensor([i for doc in documents for sentence in doc for i in sentence], dtype=torch.long)
    n, body = len(stream) // (max_len - 2), max_len - 2
    if n == 0:
        raise ValueError(f"the documents hold {len(stream)} tokens, fewer than one row of {body}; give more text.")
    rows = stream[:n * body].view(n, body)
    return torch.cat([torch.full((n, 1), tokenizer.cls_id), rows, torch.full((n, 1), tokenizer.sep_id)], dim=1)


class _ShuffledRows:
    """Batches of ``rows`` (from :func:`token_rows`) in a new order each pass, ``batch_size``
    at a time; a subclass says what a batch of rows becomes (its ``batch`` method)."""

    def __init__(self, rows: torch.Tensor, tokenizer: WordPieceTokenizer, batch_size: int, seed: int = 0):
        self.rows, self.tokenizer, self.batch_size = rows, tokenizer, batch_size
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return math.ceil(len(self.rows) / self.batch_size)

    def __iter__(self) -> Iterator[dict]:
        order = torch.randperm(len(self.rows), generator=self.generator)
        for start in range(0, len(order), self.batch_size):
            yield self.batch(self.rows[order[start:start + self.batch_size]])


class MaskedRows(_ShuffledRows):
    """Batches for the masked LM alone (:func:`ptm_lib.models.bert.mlm_loss`): each pass
    shuffles ``rows`` (from :func:`token_rows`), and each batch draws new masks on
    ``mask_rate`` of its tokens (80% ``[MASK]``, 10% random, 10% unchanged:
    :func:`ptm_lib.data.mlm.mask_for_mlm`). Batches are dicts of ``ids``, ``attention_mask``
    (all ones: rows are full) and ``labels``."""

    def __init__(self, rows: torch.Tensor, tokenizer: WordPieceTokenizer, batch_size: int, mask_rate: float = 0.15,
                 seed: int = 0):
        super().__init__(rows, tokenizer, batch_size, seed)
        self.mask_rate = mask_rate

    def masked(self, ids: torch.Tensor) -> dict[str, torch.Tensor]:
        """One batch: ``ids`` ``(B, T)`` with fresh masks."""
        t = self.tokenizer
        inputs, labels = mask_for_mlm(ids, t.vocab_size, t.special_ids, t.mask_id, self.mask_rate,
                                      generator=self.generator)
        return {"ids": inputs, "attention_mask": torch.ones_like(ids), "labels": labels}

    batch = masked  # what each shuffled batch of rows becomes


def masked_lm_metrics(model: BertForPretraining, batches: Sequence[dict], mask_id: int) -> dict[str, float]:
    """Masked-LM loss (nats per predicted token) and accuracy over every predicted position,
    and ``mask_accuracy``: the accuracy at positions whose input is ``[MASK]`` (``mask_id``),
    where the answer cannot be copied from the input."""
    with evaluating(model):
        totals = [_masked_lm_sums(model, batch, mask_id) for batch in batches]
    nll, hits, predicted, mask_hits, masked = (sum(column) for column in zip(*totals))
    if masked == 0:
        raise ValueError("no position is shown as [MASK] in these batches, so mask_accuracy is undefined; mask "
                         "them with ptm_lib.data.mlm.mask_for_mlm (80% of the chosen tokens become [MASK]).")
    return {"mlm_loss": nll / predicted, "mlm_accuracy": hits / predicted, "mask_accuracy": mask_hits / masked}


def _masked_lm_sums(model: BertForPretraining, batch: dict, mask_id: int) -> tuple[int | float, ...]:
    device = next(model.parameters()).device
    batch = {k: v.to(device) for k, v in batch.items()}
    hidden = model.bert(batch["ids"], batch.get("segments"), batch.get("attention_mask")).hidden
    return _mlm_sums(model, hidden, batch, mask_id)


def fixed_masked_rows(rows: torch.Tensor, tokenizer: WordPieceTokenizer, n_rows: int = 512, batch_size: int = 64,
                      seed: int = 0) -> list[dict]:
    """One fixed draw of masks (at BERT's 15%, whatever rate training used, so that runs
    compare) on the first ``n_rows`` rows, for evaluation."""
    masker = MaskedRows(rows[:n_rows], tokenizer, batch_size, mask_rate=0.15, seed=seed)
    return [masker.masked(rows[i:min(i + batch_size, n_rows)]) for i in range(0, min(n_rows, len(rows)), batch_size)]


class NextTokenRows(_ShuffledRows):
    """Batches for a left-to-right language model on BERT's encoder (the "LTR & No NSP"
    ablation of Devlin et al. 2019, section 5.1): each pass shuffles ``rows`` (from
    :func:`token_rows`); the input is the row unchanged, and every position's label is the
    *next* token (``labels[:, j] = ids[:, j + 1]``), -100 where that token is ``[SEP]`` or
    past the end. The model must attend left-to-right only, or it would see its answers.
    Batches are dicts of ``ids``, ``attention_mask`` (all ones) and ``labels``, the same keys
    :func:`ptm_lib.models.bert.mlm_loss` reads: with every label set, it is the LM loss."""

    def labelled(self, ids: torch.Tensor) -> dict[str, torch.Tensor]:
        """One batch: ``ids`` ``(B, T)`` with their next-token labels ``(B, T)``."""
        labels = torch.full_like(ids, IGNORE)
        labels[:, :-1] = ids[:, 1:]
        labels[labels == self.tokenizer.sep_id] = IGNORE
        return {"ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}

    batch = labelled  # what each shuffled batch of rows becomes


def next_token_metrics(model: BertForPretraining, batches: Sequence[dict]) -> dict[str, float]:
    """Left-to-right LM loss (nats per predicted token) and accuracy of the next token on
    ``batches`` of :class:`NextTokenRows`."""
    with evaluating(model):
        totals = [_masked_lm_sums(model, batch, mask_id=-1)[:3] for batch in batches]
    nll, hits, predicted = (sum(column) for column in zip(*totals))
    return {"lm_loss": nll / predicted, "lm_accuracy": hits / predicted}


def train(config: BertConfig, tokenizer: WordPieceTokenizer, steps: int, batch_size: int = 32, lr: float = 1e-3,
          seed: int = 0, device=None, eval_every: int = 500, documents: Sequence[Sequence[str]] | None = None,
          held_out: Sequence[Sequence[str]] | None = None, objective: str = "mlm+nsp",
          mask_rate: float | None = None, warmup: float = 0.05):
    """Train a fresh :class:`BertForPretraining` for ``steps`` updates; returns ``(model, history)``.

    ``documents`` (sentences per document) default to :func:`corpus_documents` and
    ``held_out`` to :func:`held_out_documents`; sequences are ``config.max_len`` tokens at
    most. ``objective`` is one of :data:`OBJECTIVES`: ``"mlm+nsp"`` (the paper: sentence
    pairs, :func:`pretraining_metrics` in the history's ``val`` records), ``"mlm"`` (rows of
    running text, :func:`masked_lm_metrics`) or ``"ltr"`` (the same rows, every next token
    predicted by a model whose ``config.attention`` is ``"left-to-right"``,
    :func:`next_token_metrics`). The masked objectives predict a ``mask_rate`` share of the
    tokens (default 0.15, BERT's); ``"ltr"`` masks nothing and refuses one. AdamW with a
    ``warmup`` share of the steps warming up and linear decay (appendix A.2 uses 1% warm-up
    over 1M steps).
    """
    _check_objective(config, tokenizer, objective, mask_rate)
    mask_rate = 0.15 if mask_rate is None else mask_rate
    torch.manual_seed(seed)
    docs = encode_documents(tokenizer, documents if documents is not None else corpus_documents())
    held = encode_documents(tokenizer, held_out if held_out is not None else held_out_documents())
    if objective == "mlm":
        eval_batches = fixed_masked_rows(token_rows(held, tokenizer, config.max_len), tokenizer, seed=seed)
        model = BertForPretraining(config).to(device or runtime.pick_device())
        data = MaskedRows(token_rows(docs, tokenizer, config.max_len), tokenizer, batch_size, mask_rate, seed)
        loss, measure = mlm_loss, lambda m: masked_lm_metrics(m, eval_batches, tokenizer.mask_id)
    elif objective == "ltr":
        held_rows = token_rows(held, tokenizer, config.max_len)[:512]
        eval_batches = [NextTokenRows(held_rows, tokenizer, 64).labelled(held_rows[i:i + 64])
                        for i in range(0, len(held_rows), 64)]
        model = BertForPretraining(config).to(device or runtime.pick_device())
        data = NextTokenRows(token_rows(docs, tokenizer, config.max_len), tokenizer, batch_size, seed)
        loss, measure = mlm_loss, lambda m: next_token_metrics(m, eval_batches)
    else:
        eval_batches = fixed_batches(held, tokenizer, config.max_len, seed=seed)
        model = BertForPretraining(config).to(device or runtime.pick_device())
        data = PretrainingBatches(docs, tokenizer, config.max_len, batch_size, seed, mask_rate=mask_rate)
        loss, measure = pretraining_loss, lambda m: pretraining_metrics(m, eval_batches)
    history = fit(model, data, loss, steps=steps, lr=lr, schedule="linear", warmup=warmup, weight_decay=0.01,
                  evaluate=measure, eval_every=eval_every, log_every=50, desc=f"pretrain BERT ({objective})")
    return model, history


def _check_objective(config: BertConfig, tokenizer: WordPieceTokenizer, objective: str,
                     mask_rate: float | None) -> None:
    """Refuse a run that could not train what it says: see :func:`train`."""
    if tokenizer.vocab_size != config.vocab_size:
        raise ValueError(f"the tokenizer has {tokenizer.vocab_size} tokens but config.vocab_size is "
                         f"{config.vocab_size}; build the config from the tokenizer.")
    if objective not in OBJECTIVES:
        raise ValueError(f"objective={objective!r}; use one of {OBJECTIVES}.")
    if objective == "ltr" and config.attention != "left-to-right":
        raise ValueError("objective='ltr' predicts each next token, which a model that attends to both sides "
                         "can read off its input; build the config with attention='left-to-right'.")
    if objective == "ltr" and mask_rate is not None:
        raise ValueError(f"objective='ltr' predicts every next token and masks nothing, so mask_rate={mask_rate} "
                         "would be ignored; leave it out (or use objective='mlm').")
    if mask_rate is not None and not 0.0 < mask_rate < 1.0:
        raise ValueError(f"mask_rate is the share of tokens predicted, in (0, 1), got {mask_rate} (BERT: 0.15).")


def tokenizer_of_checkpoint(text: str) -> WordPieceTokenizer:
    """An argparse ``type`` for ``--tokenizer-from``: the WordPiece tokenizer stored in the BERT
    checkpoint at ``text``, read before any training."""
    try:
        return checkpoints.load(text, kind="bert")[1]
    except (OSError, ValueError) as error:  # no file, not a checkpoint, another kind of model
        raise argparse.ArgumentTypeError(f"{error} Give a BERT checkpoint such as data/checkpoints/bert_small.pt.")


def main(argv: list[str] | None = None) -> None:
    """``python -m ptm_lib.pretrain bert [options]``: train, then save the checkpoint at ``--out``."""
    program = f"{PROGRAM} bert"
    parser = training_parser(program, __doc__, steps=6000, seq=128, d_model=128, layers=4, lr=1e-3, min_seq=5,
                             seq_help="sequence length (max_len): the longest [CLS] A [SEP] B [SEP], or each row "
                                      "of running text")
    parser.add_argument("--heads", type=int_at_least(1), default=4, help="attention heads (default: %(default)s)")
    parser.add_argument("--vocab", type=int_at_least(1), default=None,
                        help=f"WordPiece vocabulary size, specials included (default: {VOCAB_SIZE})")
    parser.add_argument("--tokenizer-from", type=tokenizer_of_checkpoint, default=None, metavar="CHECKPOINT",
                        help="use the WordPiece vocabulary of this BERT checkpoint instead of learning one (learning "
                             "it again gives a slightly different vocabulary), so that models compare on the same "
                             "tokens")
    parser.add_argument("--objective", choices=OBJECTIVES, default="mlm+nsp",
                        help="masked LM and next-sentence prediction on sentence pairs (the paper), the masked "
                             "LM alone on rows of running text, or a left-to-right LM on the same rows (the "
                             "paper's LTR ablation; it needs --attention left-to-right) (default: %(default)s)")
    parser.add_argument("--mask-rate", type=share, default=None,
                        help="share of tokens the masked LM predicts (default: 0.15; not with --objective ltr)")
    parser.add_argument("--norm", choices=("post", "pre"), default="post",
                        help="LayerNorm after each sub-layer (the paper) or before it (default: %(default)s)")
    parser.add_argument("--attention", choices=ATTENTION, default="bidirectional",
                        help="every token sees both sides (BERT), or only its left: the control that measures "
                             "what the right-hand context is worth (default: %(default)s)")
    parser.add_argument("--warmup", type=share, default=0.05,
                        help="share of the steps spent warming the learning rate up (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.tokenizer_from is not None and args.vocab is not None:
        parser.error("--vocab and --tokenizer-from both choose the vocabulary; give one of them.")
    if args.objective == "ltr" and args.attention != "left-to-right":
        parser.error("--objective ltr predicts each next token, which a model that sees both sides reads off "
                     "its input; add --attention left-to-right.")
    if args.objective == "ltr" and args.mask_rate is not None:
        parser.error("--objective ltr masks nothing; leave out --mask-rate.")
    vocab_size = args.vocab or VOCAB_SIZE
    check_config(parser, lambda: BertConfig(vocab_size=vocab_size, max_len=args.seq, d_model=args.d_model,
                                            n_layers=args.layers, n_heads=args.heads, norm=args.norm,
                                            attention=args.attention))
    runtime.set_threads(args.threads)
    tokenizer = args.tokenizer_from or book_tokenizer(vocab_size)
    config = BertConfig(vocab_size=tokenizer.vocab_size, max_len=args.seq, d_model=args.d_model,
                        n_layers=args.layers, n_heads=args.heads, norm=args.norm, attention=args.attention)
    train_and_save(program, argv, args, tokenizer,
                   lambda: train(config, tokenizer, args.steps, args.batch_size, args.lr, args.seed,
                                 objective=args.objective, mask_rate=args.mask_rate, warmup=args.warmup),
                   lambda model, history: {
                       **{"held_out_" + k: round(v, 4) for k, v in history.val[-1].items() if k != "step"},
                       "train_loss": [[r["step"], round(r["loss"], 4)] for r in history.train],
                       "val": [{k: round(v, 4) for k, v in r.items()} for r in history.val]})

__all__ = ["sentence_documents", "corpus_documents", "held_out_documents", "VOCAB_SIZE", "book_tokenizer",
           "encode_documents", "PretrainingBatches", "fixed_batches", "pretraining_metrics", "OBJECTIVES", "token_rows",
           "MaskedRows", "masked_lm_metrics", "fixed_masked_rows", "NextTokenRows", "next_token_metrics", "train",
           "tokenizer_of_checkpoint", "main"]
