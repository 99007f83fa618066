"""Fine-tuning GPT (chapter 6): the input transformations of Radford et al. (2018), section 3.3 and figure 1.

The twin of :mod:`ptm_lib.finetune.bert` (chapter 7).

GPT does not grow a new architecture for each task. Every task is rewritten as one or more
token sequences that the pretrained decoder can read left to right, and a single linear
layer reads the decoder's last hidden state, at an *extract* token ``<e>``::

    classification   <s> text <e>                                  -> linear -> classes
    entailment/pair  <s> premise <$> hypothesis <e>                -> linear -> classes
    similarity       <s> a <$> b <e>   and   <s> b <$> a <e>       -> sum of both h -> linear
    multiple choice  <s> context <$> choice_k <e>   for each k     -> linear -> one score each,
                                                                      softmax over the choices

``<s>`` (start) and ``<$>`` (delimiter) are new tokens the pretrained model has never seen;
their embeddings are learned during fine-tuning. For similarity there is no natural order of
the two sentences, so both orders are run and their representations added. For multiple
choice each choice becomes its own sequence, and the choices compete through a softmax.

The paper also keeps the language-modelling loss as an *auxiliary objective* during
fine-tuning (section 3.2): ``L3 = L2 + lambda * L1`` with ``lambda = 0.5``, which it reports
helps on the larger data sets. :func:`task_loss` takes ``lm_weight`` for that ``lambda``.

A batch here is ``(ids, mask, labels)``: ``ids`` and ``mask`` of shape ``(B, S, T)`` where
``S`` is the number of sequences per example (1 for classification and pairs, 2 for
similarity, the number of choices for multiple choice) and ``labels`` of shape ``(B,)``;
:func:`batches` cuts an encoded data set into them (a
:class:`~ptm_lib.data.batches.TensorBatches`), each cut to its longest sequence, and
:func:`task_accuracy` scores a model on one (:func:`ptm_lib.evaluate.accuracy`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..data.batches import TensorBatches
from ..evaluate import accuracy

KINDS = ("classify", "pair", "similarity", "choice")


@dataclass(frozen=True)
class Specials:
    """The ids of GPT's task tokens (see :data:`ptm_lib.data.bpe.SPECIALS`)."""

    pad: int
    start: int
    delim: int
    extract: int

    @classmethod
    def of(cls, tokenizer) -> "Specials":
        return cls(tokenizer.pad_id, tokenizer.start_id, tokenizer.delim_id, tokenizer.extract_id)


def _fit(first: list[int], second: list[int] | None, budget: int,
         keep_end_of_first: bool = False) -> tuple[list[int], list[int] | None]:
    """Shorten ``first`` and then ``second`` until together they fit in ``budget`` tokens.

    Texts lose their ends, except that with ``keep_end_of_first`` the first text (a
    multiple-choice context) loses its *start*: the words next to the choice matter most."""
    if budget < (2 if second is not None else 1):
        raise ValueError(f"max_len leaves only {budget} tokens for the text; use a larger max_len.")
    if second is None:
        return first[:budget], None
    keep_second = min(len(second), max(budget // 2, budget - len(first)))
    keep_first = budget - keep_second
    if keep_first >= len(first):
        return first, second[:keep_second]
    return (first[len(first) - keep_first:] if keep_end_of_first else first[:keep_first]), second[:keep_second]


def transform(kind: str, specials: Specials, max_len: int, a: list[int], b: list[int] | None = None,
              choices: Sequence[list[int]] | None = None) -> list[list[int]]:
    """The token sequences (figure 1) for one example of task ``kind``, each at most ``max_len``.

    ``classify`` uses ``a``; ``pair`` and ``similarity`` use ``a`` and ``b``; ``choice`` uses
    ``a`` as the context and ``choices``. Returns a list of ``S`` sequences.
    """
    s, d, e = specials.start, specials.delim, specials.extract
    if kind not in KINDS:
        raise ValueError(f"Unknown task kind {kind!r}; use one of {KINDS}.")
    if kind == "classify":
        text, _ = _fit(a, None, max_len - 2)
        return [[s, *text, e]]
    if kind == "choice":
        if not choices:
            raise ValueError("A multiple-choice example needs at least one choice.")
        pairs = [_fit(a, c, max_len - 3, keep_end_of_first=True) for c in choices]
        return [[s, *x, d, *y, e] for x, y in pairs]
    if b is None:
        raise ValueError(f"A {kind!r} example needs two texts, a and b.")
    x, y = _fit(a, b, max_len - 3)
    if kind == "pair":
        return [[s, *x, d, *y, e]]
    return [[s, *x, d, *y, e], [s, *y, d, *x, e]]


def pad(examples: Sequence[Sequence[list[int]]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad examples of ``S`` sequences each into ``ids`` and ``mask`` of shape ``(N, S, T)``."""
    sizes = {len(x) for x in examples}
    if len(sizes) != 1:
        raise ValueError(f"Every example needs the same number of sequences, got {sorted(sizes)}.")
    length = max(len(seq) for x in examples for seq in x)
    ids = torch.full((len(examples), sizes.pop(), length), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids, dtype=torch.bool)
    for i, example in enumerate(examples):
        for j, seq in enumerate(example):
            ids[i, j, :len(seq)] = torch.tensor(seq)
            mask[i, j, :len(seq)] = True
    return ids, mask


def encode_task(kind: str, tokenizer, max_len: int, a: Sequence[str], b: Sequence[str] | None = None,
                choices: Sequence[Sequence[str]] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Tokenise a whole data set of task ``kind`` into padded ``ids, mask`` of shape ``(N, S, T)``."""
    specials = Specials.of(tokenizer)
    first = tokenizer.encode_batch(list(a))
    second = tokenizer.encode_batch(list(b)) if b is not None else [None] * len(first)
    options = [tokenizer.encode_batch(list(c)) for c in choices] if choices is not None else [None] * len(first)
    if len(second) != len(first) or len(options) != len(first):
        raise ValueError("a, b and choices must have one entry per example.")
    examples = [transform(kind, specials, max_len, x, y, c) for x, y, c in zip(first, second, options)]
    return pad(examples, specials.pad)


class GPTForTask(nn.Module):
    """A pretrained (or fresh) :class:`~ptm_lib.models.gpt.GPT` with one linear layer on ``<e>``.

    ``forward(ids, mask)`` takes ``(B, S, T)`` and returns ``(B, n_classes)`` logits, or
    ``(B, S)`` choice scores for ``kind="choice"``. The hidden state read is the one at the
    last real token of each sequence, which :func:`transform` makes the extract token.
    """

    def __init__(self, gpt: nn.Module, kind: str, n_classes: int = 2, dropout: float = 0.1):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"Unknown task kind {kind!r}; use one of {KINDS}.")
        self.gpt, self.kind = gpt, kind
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(gpt.config.d_model, 1 if kind == "choice" else n_classes)

    def extract(self, ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Hidden states ``(B*S, T, d)`` of every sequence and those at ``<e>``, ``(B, S, d)``."""
        if ids.dim() != 3 or ids.shape != mask.shape:
            raise ValueError(f"ids and mask must both be (batch, sequences, length); got {tuple(ids.shape)} "
                             f"and {tuple(mask.shape)}. Build them with encode_task().")
        B, S, T = ids.shape
        hidden, _ = self.gpt.hidden(ids.reshape(B * S, T), mask.reshape(B * S, T))
        last = mask.reshape(B * S, T).sum(1) - 1
        at_extract = hidden[torch.arange(B * S, device=ids.device), last]
        return hidden, at_extract.reshape(B, S, -1)

    def scores(self, h: torch.Tensor) -> torch.Tensor:
        """Task logits from the extract states ``h`` of shape ``(B, S, d)``."""
        if self.kind == "choice":
            return self.head(self.drop(h)).squeeze(-1)  # (B, S): one score per choice
        return self.head(self.drop(h.sum(1)))  # similarity sums both orders; S = 1 otherwise

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.scores(self.extract(ids, mask)[1])


def task_loss(model: GPTForTask, batch, lm_weight: float = 0.0) -> torch.Tensor:
    """``L2 + lm_weight * L1``: cross-entropy on the labels plus the auxiliary LM loss (section 3.2).

    The LM loss is next-token cross-entropy over the real tokens of every sequence in the batch.
    """
    ids, mask, labels = batch
    hidden, h = model.extract(ids, mask)
    loss = F.cross_entropy(model.scores(h).float(), labels)
    if lm_weight:
        logits = model.gpt.lm_head(hidden[:, :-1]).float()
        targets = ids.reshape(-1, ids.shape[-1])[:, 1:]
        real = mask.reshape(-1, mask.shape[-1])[:, 1:]
        loss = loss + lm_weight * F.cross_entropy(logits[real], targets[real])
    return loss


def batches(ids: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor, batch_size: int,
            shuffle: bool = True, seed: int = 0) -> TensorBatches:
    """An iterable of ``(ids, mask, labels)`` batches with ``len()``; reshuffled each pass when
    ``shuffle``. Each batch is cut to its longest sequence (``mask``'s last dimension), so
    short batches run fast."""
    if not len(ids) == len(mask) == len(labels):
        raise ValueError(f"ids, mask and labels have {len(ids)}, {len(mask)} and {len(labels)} rows.")
    return TensorBatches((ids, mask, torch.as_tensor(labels)), batch_size, shuffle, seed, mask=1)


def task_accuracy(model: GPTForTask, ids: torch.Tensor, mask: torch.Tensor, labels, batch_size: int = 64) -> float:
    """Accuracy of ``model`` on a whole encoded data set: :func:`ptm_lib.evaluate.accuracy`
    on its :func:`batches` (eval mode, on the model's device), as an exact ratio."""
    return accuracy(model, batches(ids, mask, labels, batch_size, shuffle=False), dtype=torch.float64)


@torch.no_grad()
def continuation_log_prob(model: nn.Module, prefix: list[int], continuations: Sequence[list[int]]) -> torch.Tensor:
    """``log P(continuation | prefix)`` under a GPT language model, one value per continuation.

    All continuations are scored in one padded batch; ``prefix`` must be non-empty.
    Returns a float32 tensor of shape ``(len(continuations),)`` (summed over the tokens).
    """
    if not prefix or not continuations or not all(continuations):
        raise ValueError("Give a non-empty prefix and non-empty continuations to score.")
    device = next(model.parameters()).device
    rows = [prefix + c for c in continuations]
    ids, mask = pad([[r] for r in rows], pad_id=0)
    ids, mask = ids[:, 0].to(device), mask[:, 0].to(device)
    logp = torch.log_softmax(model(ids[:, :-1], mask[:, :-1]).float(), dim=-1)
    token_logp = logp.gather(-1, ids[:, 1:, None])[..., 0]  # log P(ids[t+1] | ids[:t+1])
    scored = mask[:, 1:].clone()
    scored[:, :len(prefix) - 1] = False  # score only the continuation's tokens
    return (token_logp * scored).sum(-1).cpu()


def zero_shot_choice(model: nn.Module, specials: Specials, context: list[int], choices: Sequence[list[int]],
                     max_len: int) -> int:
    """Pick a choice with no fine-tuning at all: the language model's own judgement.

    Each choice is scored by how much the context raises its probability,
    ``log P(choice | <s> context) - log P(choice | <s>)`` (pointwise mutual information):
    without the second term the model would just prefer short, common sentences. This is
    the zero-shot use of a language model that GPT-2 (Radford et al. 2019) made its theme.
    Context and choices are cut to fit ``max_len`` like :func:`transform` does.
    """
    budget = max_len - 1
    fitted = [_fit(context, c, budget, keep_end_of_first=True) for c in choices]
    conditional = torch.stack([continuation_log_prob(model, [specials.start, *x], [y])[0] for x, y in fitted])
    alone = continuation_log_prob(model, [specials.start], [y for _, y in fitted])
    return int((conditional - alone).argmax())


__all__ = ["KINDS", "Specials", "transform", "pad", "encode_task", "GPTForTask", "task_loss", "batches",
           "task_accuracy", "continuation_log_prob", "zero_shot_choice"]
