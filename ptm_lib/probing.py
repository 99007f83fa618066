"""Chapter 4's tools for using frozen ELMo vectors: word vectors by layer, linear probes, a tagger.

ELMo is *feature-based* pretraining (Peters et al. 2018, section 3.3): the biLM stays
frozen, and a downstream model reads its layers as extra input features. This module holds
the three ways the chapter reads them:

* :func:`word_layer_vectors` -- the vector of one word of each sentence at every biLM
  layer, ``(N, L + 1, 2d)``, for word-in-context and nearest-occurrence tests; and its
  twin for a BERT-style encoder (the chapter sets ELMo beside MiniLM, and chapter 7 uses it
  on its own BERT), :func:`word_vectors`, the mean of the word's pieces at every layer.
  :func:`threshold_accuracy` scores a similarity of two such vectors as a yes/no answer
  with the threshold that is best on a development set, the way the word-in-context test
  of Pilehvar & Camacho-Collados (2019) scores a model with no training;
* :func:`probe_accuracy` -- a *linear probe* (Tenney et al. 2019; Peters et al. 2018,
  section 5.3): a logistic regression trained on frozen vectors of one layer to predict a
  label (a part of speech, a sense). High accuracy means the label is linearly readable
  from that layer;
* :class:`FeatureTagger` -- a small BiLSTM sequence tagger over frozen per-token
  features, mixing the layers with a learned :class:`~ptm_lib.models.elmo.ScalarMix`
  (the paper's Eq. 1), with :func:`pad_features`/:func:`tagging_loss`/:func:`predict_tags`
  to train and run it on named-entity recognition.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .data.batches import pad_rows
from .data.ner import word_pieces
from .data.vocab import Vocab
from .evaluate import fraction_correct, predict
from .models.elmo import BiLM, ScalarMix, embed_sentences
from .train import IGNORE, evaluating  # IGNORE: the label of padding positions, skipped by the loss

if TYPE_CHECKING:  # chapter 7's tokenizer, named only in annotations: no import at run time
    from .data.wordpiece import WordPieceTokenizer


def check_positions(sentences: Sequence[Sequence[str]], positions: Sequence[int]) -> None:
    """One word position per sentence, each inside its sentence, or a clear error."""
    if len(sentences) != len(positions):
        raise ValueError(f"{len(sentences)} sentences but {len(positions)} positions; give one word per sentence.")
    for s, p in zip(sentences, positions):
        if not 0 <= p < len(s):
            raise ValueError(f"position {p} is outside the sentence {' '.join(s)!r} ({len(s)} words).")


def word_layer_vectors(model: BiLM, vocab: Vocab, sentences: Sequence[Sequence[str]], positions: Sequence[int],
                       batch_size: int = 64) -> torch.Tensor:
    """The biLM vector of word ``positions[i]`` of ``sentences[i]`` at every layer: ``(N, L + 1, 2d)``."""
    check_positions(sentences, positions)
    layers = embed_sentences(model, vocab, [list(s) for s in sentences], batch_size)
    return torch.stack([h[:, p] for h, p in zip(layers, positions)])


def encode_words(tokenizer: WordPieceTokenizer, sentences: Sequence[Sequence[str]]):
    """``[CLS] words [SEP]`` for sentences given as word lists: padded ``ids`` and
    ``attention_mask`` ``(N, T)`` and ``word_ids``, for each sentence the word number of
    each position (``None`` for specials and padding). The pieces are
    :func:`ptm_lib.data.ner.word_pieces`, so every word has at least one."""
    encoded = [word_pieces(tokenizer, s) for s in sentences]
    batch = pad_rows([(ids, [0] * len(ids)) for ids, _ in encoded], tokenizer.pad_id)
    T = batch["ids"].shape[1]
    word_ids = [list(w) + [None] * (T - len(w)) for _, w in encoded]
    return batch["ids"], batch["attention_mask"], word_ids


def word_vectors(bert, tokenizer: WordPieceTokenizer, sentences: Sequence[Sequence[str]], positions: Sequence[int],
                 batch_size: int = 64) -> torch.Tensor:
    """The vector of word ``positions[i]`` of ``sentences[i]`` at every layer: ``(N, L + 1, d)``.

    Each vector is the mean of the word's pieces (``bank`` is one piece, ``banking`` may be
    two). Layer 0 is the embedding output. ``bert`` is a :class:`~ptm_lib.models.bert.BERT`;
    sentences longer than its ``max_len`` raise its usual error.
    """
    check_positions(sentences, positions)
    device = next(bert.parameters()).device
    out = []
    with evaluating(bert):
        for start in range(0, len(sentences), batch_size):
            ids, mask, word_ids = encode_words(tokenizer, sentences[start:start + batch_size])
            hidden = bert(ids.to(device), attention_mask=mask.to(device)).hidden_states
            layers = torch.stack(hidden, dim=1)  # (b, L+1, T, d)
            wanted = positions[start:start + batch_size]
            pieces = torch.tensor([[w == p for w in row] for row, p in zip(word_ids, wanted)],
                                  dtype=layers.dtype, device=device)  # (b, T)
            out.append(((layers * pieces[:, None, :, None]).sum(2) / pieces.sum(1)[:, None, None]).cpu())
    return torch.cat(out)


def cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Row-wise cosine similarity of ``(..., d)`` tensors."""
    return torch.nn.functional.cosine_similarity(a, b, dim=-1)


def best_threshold(scores: Sequence[float], labels: Sequence[int]) -> tuple[float, float]:
    """The threshold ``t`` maximising the accuracy of "label 1 iff score >= t" on
    ``(scores, labels)``, and that accuracy. Candidates are midpoints between sorted scores."""
    s, y = np.asarray(scores, dtype=float), np.asarray(labels, dtype=int)
    if len(s) != len(y) or len(s) == 0:
        raise ValueError(f"need as many labels as scores (and at least one), got {len(s)} and {len(y)}.")
    ordered = np.unique(s)
    candidates = np.concatenate([[ordered[0] - 1.0], (ordered[1:] + ordered[:-1]) / 2, [ordered[-1] + 1.0]])
    accuracy = [fraction_correct(s >= t, y) for t in candidates]
    i = int(np.argmax(accuracy))
    return float(candidates[i]), float(accuracy[i])


def threshold_accuracy(dev_scores, dev_labels, test_scores, test_labels) -> tuple[float, float]:
    """Choose the threshold on dev (:func:`best_threshold`); return ``(threshold, test accuracy)``."""
    t, _ = best_threshold(dev_scores, dev_labels)
    return t, fraction_correct(np.asarray(test_scores) >= t, np.asarray(test_labels))


def probe_accuracy(train_x, train_y, test_x, test_y, C: float = 1.0, max_iter: int = 200) -> float:
    """Test accuracy of a linear probe: standardise the features, fit a (multinomial)
    logistic regression with L2 strength ``1 / C`` on ``(train_x (N, D), train_y (N,))``.

    The solver (L-BFGS) stops after ``max_iter`` iterations even if not converged: like
    the L2 penalty, the budget keeps the probe simple, and every layer gets the same one,
    so scikit-learn's convergence warning is silenced. BLAS runs on as many threads as
    torch (see :func:`ptm_lib.runtime.set_threads`), so a probe does not oversubscribe a
    small machine.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    train_x, test_x = np.asarray(train_x, dtype=np.float64), np.asarray(test_x, dtype=np.float64)
    if train_x.ndim != 2 or test_x.ndim != 2 or train_x.shape[1] != test_x.shape[1]:
        raise ValueError("probe features must be (N, D) matrices of one width, "
                         f"got {train_x.shape} and {test_x.shape}.")
    if len(set(np.asarray(train_y).tolist())) < 2:
        raise ValueError("the probe's training labels hold a single class; there is nothing to learn.")
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))
    with threadpool_limits(limits=torch.get_num_threads()), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        probe.fit(train_x, train_y)
        return float(probe.score(test_x, test_y))


# ----------------------------------------------------------------------------- a tagger on frozen features


def pad_features(features: Sequence[torch.Tensor], tags: Sequence[Sequence[int]] | None = None,
                 static: Sequence[torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """Per-sentence features ``(K, n_i, D)`` (``K`` layers; ``K = 1`` for static vectors) ->
    a batch dict: ``features`` ``(N, T, K, D)``, ``attention_mask`` ``(N, T)``; given
    ``tags``, ``labels`` ``(N, T)`` with :data:`IGNORE` at padding; given ``static``
    (per-sentence ``(n_i, S)`` word vectors, e.g. word2vec), ``static`` ``(N, T, S)``, which
    :class:`FeatureTagger` concatenates to the mixed layers as the paper does (section 3.3).
    Ready for :class:`ptm_lib.data.batches.TensorBatches`, which trims padding columns per batch."""
    if not features:
        raise ValueError("pad_features needs at least one sentence.")
    K, _, D = features[0].shape
    if any(f.dim() != 3 or f.shape[0] != K or f.shape[2] != D for f in features):
        raise ValueError(f"every sentence's features must be (K={K}, n_i, D={D}).")
    N, T = len(features), max(f.shape[1] for f in features)
    out = {"features": torch.zeros(N, T, K, D), "attention_mask": torch.zeros(N, T, dtype=torch.long)}
    for i, f in enumerate(features):
        out["features"][i, : f.shape[1]] = f.transpose(0, 1)
        out["attention_mask"][i, : f.shape[1]] = 1
    if static is not None:
        if len(static) != N or any(v.dim() != 2 or v.shape[0] != f.shape[1] for v, f in zip(static, features)):
            raise ValueError("static must give one (n_i, S) matrix per sentence, a row per word.")
        out["static"] = torch.zeros(N, T, static[0].shape[1])
        for i, v in enumerate(static):
            out["static"][i, : len(v)] = v
    if tags is not None:
        if len(tags) != N or any(len(t) != f.shape[1] for t, f in zip(tags, features)):
            raise ValueError("tags must give one tag id per word of every sentence.")
        out["labels"] = torch.full((N, T), IGNORE, dtype=torch.long)
        for i, t in enumerate(tags):
            out["labels"][i, : len(t)] = torch.as_tensor(list(t), dtype=torch.long)
    return out


class FeatureTagger(nn.Module):
    """Tags from frozen features: ``(B, T, K, D)`` -> layer normalisation of each of the ``K``
    layers (no learned scale; Peters et al. 2018, section 3.2, found it helps, and it puts
    feature sets of different scales on one footing) -> :class:`ScalarMix` -> dropout -> a
    one-layer BiLSTM (``hidden`` per direction) -> a linear layer -> ``(B, T, n_tags)``
    logits. With ``static_dim > 0`` the task's own word vectors ``(B, T, static_dim)`` are
    concatenated to the mix before the BiLSTM: ELMo is *added* to a model's input, not
    substituted for it (Peters et al. 2018, section 3.3). The features themselves get no
    gradient: they are inputs."""

    def __init__(self, n_layers: int, dim: int, n_tags: int, hidden: int = 64, dropout: float = 0.25,
                 static_dim: int = 0):
        super().__init__()
        self.dim, self.static_dim = dim, static_dim
        self.mix = ScalarMix(n_layers)
        self.drop = nn.Dropout(dropout)
        self.lstm = nn.LSTM(dim + static_dim, hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hidden, n_tags)

    def forward(self, features: torch.Tensor, attention_mask: torch.Tensor,
                static: torch.Tensor | None = None) -> torch.Tensor:
        if features.dim() != 4 or features.shape[2] != len(self.mix.scalars) or features.shape[3] != self.dim:
            raise ValueError(f"features must be (B, T, {len(self.mix.scalars)}, {self.dim}) as from pad_features, "
                             f"got {tuple(features.shape)}.")
        normed = F.layer_norm(features, (self.dim,))
        mixed = self.mix(normed.movedim(2, 0)) * attention_mask[..., None]  # (B, T, D), padding stays zero
        if (static is None) != (self.static_dim == 0) or (static is not None and static.shape[-1] != self.static_dim):
            raise ValueError(f"this tagger was built with static_dim={self.static_dim}; pass static word vectors "
                             "of that width exactly when it is positive (pad_features(..., static=...)).")
        if static is not None:
            mixed = torch.cat([static, mixed], -1)
        lengths = attention_mask.sum(1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(self.drop(mixed), lengths, batch_first=True, enforce_sorted=False)
        h, _ = self.lstm(packed)
        h, _ = nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=features.shape[1])
        return self.out(self.drop(h))


def tagging_loss(model: FeatureTagger, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Cross-entropy over the real positions of a :func:`pad_features` batch."""
    logits = model(batch["features"], batch["attention_mask"], batch.get("static"))
    return F.cross_entropy(logits.flatten(0, 1), batch["labels"].flatten(), ignore_index=IGNORE)


def predict_tags(model: FeatureTagger, data: Mapping[str, torch.Tensor], batch_size: int = 128) -> list[list[int]]:
    """The highest-scoring tag id of every real word of every sentence, in order
    (:func:`ptm_lib.evaluate.predict` in batches of ``batch_size``)."""
    logits = torch.cat(predict(model, data, batch_size=batch_size))
    return [row[: int(m.sum())].tolist() for row, m in zip(logits.argmax(-1), data["attention_mask"])]


__all__ = ["word_layer_vectors", "check_positions", "encode_words", "word_vectors", "cosine", "best_threshold",
           "threshold_accuracy", "probe_accuracy", "pad_features", "FeatureTagger", "tagging_loss", "predict_tags"]
