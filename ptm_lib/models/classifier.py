"""A downstream text classifier whose first layer can come from pretraining.

The seeds' point about static word embeddings (Zhang 2018): using word2vec or GloVe in a
downstream model *is* pretraining, of the first layer only. The model here is the
simplest that shows it: the mean of a document's word vectors (an ``nn.EmbeddingBag``),
then a linear layer over the classes. Its embedding table can start random, or as a copy
of pretrained vectors that is either frozen or fine-tuned with the rest, the same three
regimes as chapter 1's ConvNet.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

REGIMES = ("random", "frozen", "fine-tuned")


class BagOfEmbeddings(nn.Module):
    """Mean of the word vectors of a document, then a linear classifier.

    Input: a batch as ``(ids, offsets)`` in ``nn.EmbeddingBag`` layout (all documents'
    ids concatenated, ``(total,)``, and each document's start, ``(batch,)``); output:
    logits ``(batch, n_classes)``.
    """

    def __init__(self, vocab_size: int, dim: int, n_classes: int):
        super().__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, dim, mode="mean")
        self.head = nn.Linear(dim, n_classes)

    def forward(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        ids, offsets = batch
        return self.head(self.embedding(ids, offsets))


def build_classifier(vocab_size: int, n_classes: int, regime: str, vectors: np.ndarray | None = None,
                     dim: int | None = None, seed: int = 0) -> BagOfEmbeddings:
    """A :class:`BagOfEmbeddings` in one of the three regimes of :data:`REGIMES`.

    ``"random"`` initialises the table at random (``dim`` wide, or as wide as
    ``vectors``); ``"frozen"`` and ``"fine-tuned"`` copy ``vectors`` ``(vocab_size, d)``
    into it, and ``"frozen"`` stops its gradients so only the linear head learns.
    """
    if regime not in REGIMES:
        raise ValueError(f"regime={regime!r}; use one of {REGIMES}.")
    if regime != "random" and vectors is None:
        raise ValueError(f"The {regime!r} regime starts from pretrained vectors: pass vectors=.")
    if vectors is not None and vectors.shape[0] != vocab_size:
        raise ValueError(f"vectors has {vectors.shape[0]} rows for a vocabulary of {vocab_size} words.")
    dim = vectors.shape[1] if vectors is not None else dim
    if dim is None:
        raise ValueError("Give dim= (or vectors=) for the width of the word vectors.")
    torch.manual_seed(seed)
    model = BagOfEmbeddings(vocab_size, dim, n_classes)
    if regime != "random":
        with torch.no_grad():
            model.embedding.weight.copy_(torch.as_tensor(vectors, dtype=torch.float32))
        model.embedding.weight.requires_grad_(regime == "fine-tuned")
    return model


def bag_batches(documents: Sequence[np.ndarray], labels: Sequence[int], batch_size: int = 32,
                shuffle: bool = False, seed: int = 0) -> list[tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor]]:
    """Documents (arrays of word ids) as ``((ids, offsets), labels)`` batches for the model.

    Shuffled once with ``seed`` when ``shuffle`` is true; an empty document raises,
    since its mean vector is undefined.
    """
    if len(documents) != len(labels):
        raise ValueError(f"{len(documents)} documents but {len(labels)} labels.")
    if any(len(d) == 0 for d in documents):
        raise ValueError("An empty document has no word vectors to average; drop it or check the tokenizer.")
    order = np.random.default_rng(seed).permutation(len(documents)) if shuffle else np.arange(len(documents))
    batches = []
    for lo in range(0, len(order), batch_size):
        chosen = order[lo:lo + batch_size]
        docs = [np.asarray(documents[i], dtype=np.int64) for i in chosen]
        offsets = np.cumsum([0] + [len(d) for d in docs[:-1]])
        batches.append(((torch.from_numpy(np.concatenate(docs)), torch.from_numpy(offsets)),
                        torch.as_tensor([labels[i] for i in chosen], dtype=torch.long)))
    return batches


__all__ = ["REGIMES", "BagOfEmbeddings", "build_classifier", "bag_batches"]
