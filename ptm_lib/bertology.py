"""Looking inside a trained BERT (chapter 7): its guesses for a blank, what its heads attend
to, and its vectors per word.

"BERTology" (Rogers, Kovaleva & Rumshisky 2020) is the study of what a pretrained encoder
has learned. Three of its tools are here.

**Filling blanks.** The masked-LM head (section 3.1 of the paper) turns the last hidden
vector at each ``[MASK]`` into a distribution over the vocabulary. :func:`fill_blanks`
lists the most likely pieces for each blank, so that one can see whether the words on
*both* sides shape the guess (Petroni et al. 2019 query a BERT for facts this way).

**Attention patterns.** Clark, Khandelwal, Levy & Manning (2019, "What does BERT look at?",
sections 3-4) averaged each head's attention over many inputs and found that heads
specialise: many put most of their weight on ``[SEP]`` or ``[CLS]`` (a "no-op" when the
head has nothing to do), some on the previous or the next token, some broadly on the whole
sentence. :func:`pattern_scores` measures these patterns for every layer and head: for
each query token, the attention weight that lands on the pattern's target, averaged over
the real tokens of a batch. ``same token`` is the weight a token gives to *other*
occurrences of the same token (e.g. ``bank`` in segment A looking at ``bank`` in segment
B), averaged over the tokens that have another occurrence.

**Contextual word vectors.** A word's vector at layer ``l`` is the mean of its word
pieces' hidden states ``h_l`` (layer 0 is the embedding output, context-free apart from
position and segment). :func:`~ptm_lib.probing.word_vectors` returns every layer at once,
so a probe can ask which layer knows what (Peters et al. 2018's ELMo analysis, section
5.3; Tenney et al. 2019). :func:`~ptm_lib.probing.threshold_accuracy` turns a similarity
into a yes/no decision with the threshold that is best on a development set, the way the
word-in-context test of Pilehvar & Camacho-Collados (2019) scores a model with no
training. Chapter 4 introduced these tools to compare ELMo with MiniLM, so they live in
:mod:`ptm_lib.probing`; they are imported here, where chapter 7 uses them on its own BERT.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .probing import cosine, threshold_accuracy, word_vectors  # chapter 4's, used again by chapter 7
from .train import evaluating

PATTERNS = ("[CLS]", "[SEP]", "previous token", "next token", "same token", "itself")
"""The patterns :func:`pattern_scores` measures, in the order of its result."""


def fill_blanks(model, tokenizer, text: str, k: int = 5) -> list[list[tuple[str, float]]]:
    """The ``k`` most likely pieces for each ``[MASK]`` in ``text``, from ``model``'s masked-LM
    head: one list per blank, left to right, of ``(piece, probability)``, most likely first.

    ``model`` is a :class:`~ptm_lib.models.bert.BertForPretraining` and ``tokenizer`` its
    WordPiece tokenizer; ``text`` is encoded as ``[CLS] text [SEP]``, one segment. Raises
    ``ValueError`` if ``text`` has no ``[MASK]`` or is longer than the model's ``max_len``.
    """
    ids = tokenizer.encode(text)
    blanks = [i for i, token in enumerate(ids) if token == tokenizer.mask_id]
    if not blanks:
        raise ValueError(f"no [MASK] in {text!r}; write [MASK] where a word is missing, e.g. "
                         "'the bank raised interest [MASK]'.")
    if len(ids) > model.config.max_len:
        raise ValueError(f"{text!r} is {len(ids)} tokens with [CLS] and [SEP], longer than the model's "
                         f"max_len={model.config.max_len}; shorten it.")
    device = next(model.parameters()).device
    with evaluating(model):
        hidden = model.bert(torch.tensor([ids], device=device)).hidden[0, blanks]  # (blanks, d)
        top = model.mlm(hidden).float().softmax(-1).topk(k)
    return [[(tokenizer.id_to_token(i), p) for p, i in zip(probs, pieces)]
            for probs, pieces in zip(top.values.tolist(), top.indices.tolist())]


def _targets(ids: torch.Tensor, attention_mask: torch.Tensor, cls_id: int, sep_id: int) -> dict[str, torch.Tensor]:
    """For each pattern, a ``(B, T, T)`` 0/1 matrix: 1 where key ``j`` is query ``i``'s target."""
    B, T = ids.shape
    real = attention_mask.bool()
    pair = real[:, :, None] & real[:, None, :]
    eye = torch.eye(T, dtype=torch.bool, device=ids.device)
    ones = torch.ones(T, T, dtype=torch.bool, device=ids.device)
    same = (ids[:, :, None] == ids[:, None, :]) & ~eye
    return {
        "[CLS]": pair & (ids == cls_id)[:, None, :],
        "[SEP]": pair & (ids == sep_id)[:, None, :],
        "previous token": pair & ones.tril(-1).triu(-1)[None],  # key j = i - 1
        "next token": pair & ones.triu(1).tril(1)[None],  # key j = i + 1
        "same token": pair & same & (ids != cls_id)[:, :, None] & (ids != sep_id)[:, :, None],
        "itself": pair & eye[None],
    }


@torch.no_grad()
def pattern_scores(attentions: Sequence[torch.Tensor], ids: torch.Tensor, attention_mask: torch.Tensor,
                   cls_id: int, sep_id: int) -> dict[str, np.ndarray]:
    """Mean attention weight on each pattern's target, per layer and head.

    ``attentions``: ``L`` tensors ``(B, H, T, T)`` (``BERT(..., need_weights=True).attentions``);
    ``ids`` and ``attention_mask`` ``(B, T)``. Returns ``{pattern: (L, H) array}`` for
    :data:`PATTERNS`. Queries are the real tokens (for ``previous``/``next token``, those that
    have one; for ``same token``, those whose token occurs again); a score of 1 means every
    such query puts all its weight on the target.
    """
    if not attentions:
        raise ValueError("no attention maps: run the model with need_weights=True.")
    if attentions[0].shape[-1] != ids.shape[1] or attentions[0].shape[0] != ids.shape[0]:
        raise ValueError(f"attention maps of shape {tuple(attentions[0].shape)} do not match ids {tuple(ids.shape)}.")
    probs = torch.stack([a.float() for a in attentions], dim=1)  # (B, L, H, T, T)
    scores = {}
    for name, target in _targets(ids, attention_mask, cls_id, sep_id).items():
        has_target = target.any(-1)  # (B, T): the queries that have this target
        if not has_target.any():
            scores[name] = np.full(probs.shape[1:3], np.nan)
            continue
        on_target = (probs * target[:, None, None].float()).sum(-1)  # (B, L, H, T)
        weight = has_target[:, None, None].float()
        scores[name] = ((on_target * weight).sum((0, 3)) / weight.sum((0, 3))).cpu().numpy()
    return scores


def top_heads(scores: dict[str, np.ndarray], k: int = 3) -> dict[str, list[tuple[int, int, float]]]:
    """For each pattern, the ``k`` (layer, head, score) with the highest scores, layers and heads numbered from 1."""
    best = {}
    for name, grid in scores.items():
        flat = np.nan_to_num(grid, nan=-1.0).ravel()
        order = np.argsort(-flat)[:k]
        best[name] = [(int(i // grid.shape[1]) + 1, int(i % grid.shape[1]) + 1, float(flat[i])) for i in order]
    return best


__all__ = ["fill_blanks", "PATTERNS", "pattern_scores", "top_heads", "word_vectors", "cosine", "threshold_accuracy"]
