"""BERT's two pretraining tasks as data: masked words and next-sentence pairs (chapter 7).

Devlin et al. (2019), section 3.1 and appendix A.1.

**Masked LM.** A left-to-right LM cannot see the words to the right; a bidirectional
encoder that sees everything would find predicting a word trivial, since it sees the word
itself. So BERT *corrupts* its input and learns to undo the corruption: it chooses 15% of
the token positions at random (never ``[CLS]``, ``[SEP]`` or padding) and replaces the
chosen token

* by ``[MASK]`` 80% of the time:   ``my dog is hairy -> my dog is [MASK]``
* by a random token 10% of the time: ``my dog is hairy -> my dog is apple``
* by itself (unchanged) 10% of the time: ``my dog is hairy -> my dog is hairy``

and the loss asks for the original token at the chosen positions only. ``[MASK]`` never
appears when the model is fine-tuned; the 10% random and 10% unchanged tokens keep the
model from relying on it: any token might be corrupted, so every output vector must keep
a good representation of its word (appendix C.2 compares other mixtures).
:func:`mask_for_mlm` chooses ``round(15%)`` of each sequence's eligible tokens (at least
one), as Google's ``create_pretraining_data.py`` does, rather than flipping a coin per
token: every sequence then contributes to the loss.

**Next sentence prediction.** Many downstream tasks (question answering, entailment) are
about the relation between two texts. BERT packs two spans of text ``A`` and ``B`` as
``[CLS] A [SEP] B [SEP]``, with segment ids 0 for ``[CLS] A [SEP]`` and 1 for ``B [SEP]``;
50% of the time ``B`` is the text that actually follows ``A`` (``IsNext``), 50% of the time
it is taken from *another* document (``NotNext``). A "sentence" here is any span of
contiguous text: :func:`nsp_pairs` fills a span of up to ``max_len`` tokens with whole
sentences of a document and cuts it in two at a random sentence boundary
(``create_instances_from_document`` in Google's code).

Token ids are plain Python lists until :func:`pad_pairs` stacks them into tensors;
:func:`pretraining_batch` then applies the masking and returns the dict that
:func:`ptm_lib.models.bert.pretraining_loss` reads.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import torch

from ..train import IGNORE  # the label of positions that are not predicted (PyTorch's ignore_index)
from .batches import pad_rows

# --- masked LM ---

def mask_for_mlm(ids: torch.Tensor, vocab_size: int, special_ids: Iterable[int], mask_id: int, prob: float = 0.15,
                 generator: torch.Generator | None = None,
                 proportions: tuple[float, float, float] = (0.8, 0.1, 0.1)) -> tuple[torch.Tensor, torch.Tensor]:
    """Corrupt ``ids`` ``(B, T)`` for the masked LM; returns ``(inputs, labels)``, both ``(B, T)``.

    In each row, ``max(1, round(prob * n))`` of its ``n`` non-special tokens are chosen
    uniformly at random (none if ``n = 0``); ``special_ids`` must include the padding id,
    which is thus never chosen. A chosen token becomes ``mask_id``, a random non-special
    token or stays itself with probabilities ``proportions`` (80/10/10). ``labels`` holds
    the original id at the chosen positions and -100 elsewhere. ``generator`` (a
    ``torch.Generator`` on ``ids``' device) makes the draw reproducible; ``ids`` is not
    modified.
    """
    ids = _check_ids(ids, vocab_size)
    special = torch.tensor(sorted({int(i) for i in special_ids}), dtype=torch.long, device=ids.device)
    if not 0 <= mask_id < vocab_size:
        raise ValueError(f"mask_id={mask_id} is outside the vocabulary 0..{vocab_size - 1}.")
    if not 0.0 < prob < 1.0:
        raise ValueError(f"prob is the fraction of tokens to predict, in (0, 1), got {prob} (BERT uses 0.15).")
    if len(proportions) != 3 or min(proportions) < 0 or abs(sum(proportions) - 1.0) > 1e-6:
        raise ValueError(f"proportions are the [MASK]/random/unchanged shares and must sum to 1, got {proportions}.")
    replacements = _non_special(vocab_size, special)
    chosen = _choose_positions(~torch.isin(ids, special), prob, generator)
    labels = torch.where(chosen, ids, torch.full_like(ids, IGNORE))
    u = torch.rand(ids.shape, generator=generator, device=ids.device)
    to_mask = chosen & (u < proportions[0])
    to_random = chosen & (u >= proportions[0]) & (u < proportions[0] + proportions[1])
    random_ids = replacements[torch.randint(len(replacements), ids.shape, generator=generator, device=ids.device)]
    inputs = torch.where(to_mask, torch.full_like(ids, mask_id), ids)
    inputs = torch.where(to_random, random_ids, inputs)
    return inputs, labels


def _check_ids(ids, vocab_size: int) -> torch.Tensor:
    if not isinstance(ids, torch.Tensor) or ids.dim() != 2 or ids.dtype != torch.long:
        raise ValueError("mask_for_mlm needs ids as a (batch, length) LongTensor; use torch.tensor([ids]) for one "
                         "sequence.")
    if ids.numel() and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(f"ids must lie in 0..{vocab_size - 1} (vocab_size={vocab_size}), got values "
                         f"{ids.min().item()}..{ids.max().item()}.")
    return ids


def _non_special(vocab_size: int, special: torch.Tensor) -> torch.Tensor:
    """The ids a random replacement may take: every id that is not special."""
    allowed = torch.arange(vocab_size, device=special.device)
    allowed = allowed[~torch.isin(allowed, special)]
    if len(allowed) == 0:
        raise ValueError("every id of the vocabulary is special; there is no token to mask or to substitute.")
    return allowed


def _choose_positions(eligible: torch.Tensor, prob: float, generator) -> torch.Tensor:
    """``max(1, round(prob * n))`` eligible positions per row, uniformly at random: bool ``(B, T)``.

    Each eligible position gets a uniform random key (ineligible ones a key above 1); a
    position is chosen if its key ranks among the row's ``k`` smallest.
    """
    n = eligible.sum(1)  # (B,)
    k = torch.where(n > 0, (n * prob).round().clamp(min=1), torch.zeros_like(n))  # (B,)
    keys = torch.rand(eligible.shape, generator=generator, device=eligible.device).masked_fill(~eligible, 2.0)
    ranks = keys.argsort(1).argsort(1)  # rank of each position's key within its row
    return ranks < k[:, None]


# --- next sentence prediction ---

class PairExample(NamedTuple):
    """One NSP example: ``[CLS] A [SEP] B [SEP]`` ids, its segment ids (0 up to and including
    the first ``[SEP]``, then 1) and ``is_next`` (1 if B follows A in the document, else 0)."""

    ids: list[int]
    segments: list[int]
    is_next: int


def pack_pair(a: Sequence[int], b: Sequence[int], cls_id: int, sep_id: int) -> tuple[list[int], list[int]]:
    """``[CLS] a [SEP] b [SEP]`` and its segment ids ``0 ... 0 1 ... 1`` (section 3, figure 2)."""
    ids = [cls_id, *a, sep_id, *b, sep_id]
    return ids, [0] * (len(a) + 2) + [1] * (len(b) + 1)


def truncate_pair(a: list[int], b: list[int], budget: int, rng: random.Random) -> None:
    """Shorten ``a`` and ``b`` in place until ``len(a) + len(b) <= budget``, one token at a
    time from the longer one, at its front or back at random (Google's ``truncate_seq_pair``)."""
    while len(a) + len(b) > budget:
        longer = a if len(a) > len(b) else b
        del longer[0 if rng.random() < 0.5 else -1]


def nsp_pairs(documents: Sequence[Sequence[Sequence[int]]], max_len: int, cls_id: int, sep_id: int,
              seed: int | random.Random = 0) -> list[PairExample]:
    """Next-sentence examples from ``documents`` (document -> sentences -> token ids, no specials).

    Each document is read in order: whole sentences are gathered until they hold
    ``max_len - 3`` tokens (or the document ends). With probability 1/2 the example is
    positive (``is_next=1``): the span is cut at a random sentence boundary into ``A`` and
    ``B``. Otherwise (``is_next=0``) ``A`` is the span's sentences up to a random boundary,
    ``B`` a run of sentences from a random *other* document, and the sentences after the
    boundary are read again for the next example. A span of one sentence is cut inside the
    sentence for a positive (a one-token sentence can only be a negative's ``A``). The pair
    is then truncated to fit ``max_len`` with :func:`truncate_pair`. ``seed`` (or a
    ``random.Random``) makes the examples reproducible.
    """
    rng = seed if isinstance(seed, random.Random) else random.Random(seed)
    docs = _clean_documents(documents)
    if max_len < 5:
        raise ValueError(f"max_len={max_len} leaves no room: [CLS] A [SEP] B [SEP] needs at least 5 tokens.")
    budget = max_len - 3
    examples = []
    for d, doc in enumerate(docs):
        start = 0
        while start < len(doc):
            end = _fill_span(doc, start, budget)
            one_sentence = end - start == 1
            is_next = rng.random() < 0.5 and not (one_sentence and len(doc[start]) < 2)
            if one_sentence:
                a, b = _cut_sentence(doc[start], rng) if is_next else (list(doc[start]), None)
                start = end
            else:
                cut = rng.randint(start + 1, end - 1)
                a, b = _concat(doc[start:cut]), _concat(doc[cut:end]) if is_next else None
                start = end if is_next else cut  # a negative puts the unused sentences back
            if b is None:
                b = _random_span(docs, d, budget - len(a), rng)
            truncate_pair(a, b, budget, rng)
            examples.append(PairExample(*pack_pair(a, b, cls_id, sep_id), int(is_next)))
    return examples


def _clean_documents(documents) -> list[list[list[int]]]:
    """Drop empty sentences and documents; at least two documents must remain (for negatives)."""
    docs = [[list(s) for s in doc if len(s)] for doc in documents]
    docs = [doc for doc in docs if doc]
    if len(docs) < 2:
        raise ValueError(f"nsp_pairs needs at least two non-empty documents (negatives take B from another "
                         f"document), got {len(docs)}; pass documents as lists of sentences of token ids.")
    if any(not isinstance(t, int) for doc in docs for s in doc for t in s):
        raise ValueError("documents must hold sentences as lists of integer token ids (document -> sentences -> "
                         "ids); encode the text first.")
    return docs


def _fill_span(doc: list[list[int]], start: int, budget: int) -> int:
    """The end (exclusive) of the span of whole sentences from ``start`` that reaches ``budget`` tokens."""
    end, length = start, 0
    while end < len(doc) and length < budget:
        length += len(doc[end])
        end += 1
    return end


def _cut_sentence(sentence: list[int], rng: random.Random) -> tuple[list[int], list[int]]:
    """A sentence of two or more tokens cut at a random token into two non-empty halves."""
    split = rng.randint(1, len(sentence) - 1)
    return list(sentence[:split]), list(sentence[split:])


def _random_span(docs, d: int, length: int, rng: random.Random) -> list[int]:
    """At least ``length`` tokens (when the document has them) of whole sentences from a
    random document other than ``d``, starting at a random sentence."""
    doc = docs[_other_index(len(docs), d, rng)]
    first = rng.randrange(len(doc))
    return _concat(doc[first:_fill_span(doc, first, max(1, length))])


def _other_index(n: int, d: int, rng: random.Random) -> int:
    """A uniformly random index in ``0..n-1`` other than ``d``."""
    i = rng.randrange(n - 1)
    return i + 1 if i >= d else i


def _concat(sentences) -> list[int]:
    return [t for s in sentences for t in s]


# --- batches ---

def pad_pairs(examples: Sequence[PairExample], pad_id: int) -> dict[str, torch.Tensor]:
    """Stack examples into right-padded tensors: ``ids``, ``segments``, ``attention_mask``
    (1 = real token), all ``(B, T_max)`` (:func:`~ptm_lib.data.batches.pad_rows`), and
    ``is_next`` ``(B,)``."""
    if not examples:
        raise ValueError("pad_pairs got no examples.")
    return {**pad_rows([(e.ids, e.segments) for e in examples], pad_id),
            "is_next": torch.tensor([e.is_next for e in examples], dtype=torch.long)}


def pretraining_batch(examples: Sequence[PairExample], vocab_size: int, special_ids: Iterable[int], mask_id: int,
                      pad_id: int, prob: float = 0.15, generator: torch.Generator | None = None) -> dict:
    """:func:`pad_pairs` then :func:`mask_for_mlm`: the dict of ``ids`` (corrupted),
    ``labels``, ``segments``, ``attention_mask`` and ``is_next`` that
    :func:`ptm_lib.models.bert.pretraining_loss` reads. ``pad_id`` is treated as special."""
    batch = pad_pairs(examples, pad_id)
    batch["ids"], batch["labels"] = mask_for_mlm(batch["ids"], vocab_size, {*special_ids, pad_id}, mask_id, prob,
                                                 generator)
    return batch


__all__ = ["mask_for_mlm", "PairExample", "pack_pair", "truncate_pair", "nsp_pairs", "pad_pairs", "pretraining_batch"]
