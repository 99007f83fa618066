"""The book's four task families, each as one fine-tuning job a BERT can be scored on.

Devlin et al. (2019), section 4, fine-tune one pretrained encoder on four shapes of task,
each with its own small output layer (figure 4). The book has one task of each shape, all
from packaged data and all scored on held-out text:

=============  ========================================  ====================  ==============
family         task                                      head                  score
=============  ========================================  ====================  ==============
``topic``      BBC article -> one of 5 topics            pooled vector ``C``   accuracy
``pair``       KJV verse + WEB verse -> same verse?      pooled vector ``C``   accuracy
``entities``   WNUT-16 tweet -> a BIO tag per word       every token           entity F1
``spans``      cloze question + passage -> answer span   start/end per token   exact match
=============  ========================================  ====================  ==============

A :class:`TaskFamily` holds its training and test examples, encodes them for a tokenizer
(:meth:`~TaskFamily.data`), builds the head on an encoder (:meth:`~TaskFamily.model`),
and scores a fine-tuned model (:meth:`~TaskFamily.score`); :func:`families` builds all
four at the sizes asked for. Chapter 8 fine-tunes every pretraining objective on all four
(:mod:`ptm_lib.ablation`); the sizes are in :data:`SIZES`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch

from ..data import bible, ner, spans, tasks, text
from ..data.wordpiece import WordPieceTokenizer
from ..evaluate import predict
from ..models.bert import (
    BERT,
    BertForSequenceClassification,
    BertForSpanExtraction,
    BertForTokenClassification,
    best_span,
    sequence_classification_loss,
    span_loss,
    token_classification_loss,
)
from .bert import classification_accuracy, encode_texts

FAMILIES = ("topic", "pair", "entities", "spans")
"""The four families, in the order of the paper's figure 4: single sentence, sentence pair,
tagging, span."""

SIZES = {"topic_per_class": 32, "topic_test_per_class": 75, "topic_len": 64, "pair_train": 512, "pair_test": 500,
         "pair_len": 64, "entities_train": 800, "entities_len": 64, "spans_train": None, "spans_len": 64}
"""Chapter 8's sizes: labelled examples for training (``topic_per_class`` articles of each
of the 5 topics; ``None``: every training example), test examples (for the topics, a seeded
draw of as many of each) and the longest input in tokens (``*_len``: 64, the length our
BERTs were pretrained at). The entity and span families are tested on every held-out
example; a span example whose answer lies past ``spans_len`` is dropped (about half of
them at 64 tokens), from training and test alike."""


@dataclass
class TaskFamily:
    """One family: ``train`` and ``test`` examples and what fine-tuning needs to know of them.

    ``encode(tokenizer, examples)`` -> the dict of tensors :func:`ptm_lib.finetune.bert.fine_tune`
    reads; ``head(encoder, bilstm_top)`` -> the model; ``loss`` its loss;
    ``measure(model, tokenizer, examples)`` -> the score; ``metric`` names it and
    ``chance`` is what guessing scores (0 where guessing finds nothing)."""

    name: str
    metric: str
    chance: float
    train: list
    test: list
    encode: Callable[[WordPieceTokenizer, list], dict]
    head: Callable[[BERT, bool], torch.nn.Module]
    loss: Callable
    measure: Callable[[torch.nn.Module, WordPieceTokenizer, list], float]

    def data(self, tokenizer: WordPieceTokenizer) -> dict[str, torch.Tensor]:
        """The training examples encoded for ``tokenizer``."""
        return self.encode(tokenizer, self.train)

    def model(self, encoder: BERT, bilstm_top: bool = False) -> torch.nn.Module:
        """``encoder`` with this family's output layer (and a fresh BiLSTM under it if asked)."""
        return self.head(encoder, bilstm_top)

    def score(self, model: torch.nn.Module, tokenizer: WordPieceTokenizer) -> float:
        """``model``'s score on the test examples."""
        return self.measure(model, tokenizer, self.test)


def topic_family(per_class: int, test_per_class: int | None, max_len: int) -> TaskFamily:
    """BBC topic (5 classes): ``per_class`` training articles of each topic and
    ``test_per_class`` held-out ones (the articles are sorted by topic, so a first-N cut
    would test one topic), each read from its start."""
    texts, labels, names = text.bbc_topics("train", per_class=per_class)
    test_texts, test_labels, _ = text.bbc_topics("test", per_class=test_per_class)
    test = list(zip(test_texts, test_labels))

    def encode(tok, examples):
        return {**encode_texts(tok, [t for t, _ in examples], max_len),
                "labels": torch.tensor([y for _, y in examples])}

    return TaskFamily("topic", "accuracy", 1 / len(names), list(zip(texts, labels)), test, encode,
                      lambda enc, top: BertForSequenceClassification(enc, len(names), bilstm_top=top),
                      sequence_classification_loss,
                      lambda model, tok, examples: classification_accuracy(model, encode(tok, examples)))


def pair_family(n_train: int, n_test: int, max_len: int) -> TaskFamily:
    """KJV/WEB paraphrase pairs (half true renderings, half verses of similar length)."""
    items = tasks.paraphrase_pairs(bible.load_parallel_verses(), n_train + n_test, seed=0)

    def encode(tok, examples):
        return {**encode_texts(tok, [p.a for p in examples], max_len, texts_b=[p.b for p in examples]),
                "labels": torch.tensor([p.label for p in examples])}

    return TaskFamily("pair", "accuracy", 0.5, items[:n_train], items[n_train:], encode,
                      lambda enc, top: BertForSequenceClassification(enc, 2, bilstm_top=top),
                      sequence_classification_loss,
                      lambda model, tok, examples: classification_accuracy(model, encode(tok, examples)))


def entity_family(n_train: int | None, max_len: int) -> TaskFamily:
    """WNUT-16 named entities in tweets, BIO tags on each word's first piece; our split's test tweets."""
    wnut = ner.load_wnut16()
    tags = ner.tag_set(ner.entity_types(wnut["train"]))
    tag_to_id = {t: i for i, t in enumerate(tags)}

    def encode(tok, examples):
        return ner.encode_tagged(tok, examples, tag_to_id, max_len)

    def measure(model, tok, examples):
        batch = encode(tok, examples)
        predicted = ner.decode_predictions(torch.cat(predict(model, batch)), batch, examples, tags)
        return ner.entity_f1([s.tags for s in examples], predicted)["f1"]

    return TaskFamily("entities", "entity F1", 0.0, wnut["train"][:n_train], wnut["test"], encode,
                      lambda enc, top: BertForTokenClassification(enc, len(tags), bilstm_top=top),
                      token_classification_loss, measure)


def span_family(n_train: int | None, max_len: int) -> TaskFamily:
    """Cloze questions on held-out BBC articles: point at the blanked name or number in the passage."""
    cloze = spans.held_out_cloze_spans(window=1)

    def measure(model, tok, examples):
        batch = spans.encode_spans(tok, examples, max_len)
        starts, ends = zip(*predict(model, {k: v for k, v in batch.items() if k not in ("start", "end")}))
        chosen = best_span(torch.cat(starts), torch.cat(ends), max_length=10)
        hits = [spans.exact_match(spans.span_text(tok, row, s, e), examples[k].answer)
                for row, (s, e), k in zip(batch["ids"], chosen.tolist(), batch["kept"].tolist())]
        return float(np.mean(hits))

    return TaskFamily("spans", "exact match", 0.0, cloze["train"][:n_train], cloze["dev"] + cloze["test"],
                      lambda tok, examples: spans.encode_spans(tok, examples, max_len),
                      lambda enc, top: BertForSpanExtraction(enc, bilstm_top=top), span_loss, measure)


def families(sizes: Mapping[str, int | None] = SIZES, names=FAMILIES) -> dict[str, TaskFamily]:
    """The families ``names`` at ``sizes`` (the keys of :data:`SIZES`; missing keys take its values)."""
    unknown = set(sizes) - set(SIZES)
    if unknown:
        raise ValueError(f"unknown sizes {sorted(unknown)}; the sizes are {sorted(SIZES)}.")
    bad = [n for n in names if n not in FAMILIES]
    if bad:
        raise ValueError(f"unknown task families {bad}; choose from {FAMILIES}.")
    s = {**SIZES, **sizes}
    makers = {"topic": lambda: topic_family(s["topic_per_class"], s["topic_test_per_class"], s["topic_len"]),
              "pair": lambda: pair_family(s["pair_train"], s["pair_test"], s["pair_len"]),
              "entities": lambda: entity_family(s["entities_train"], s["entities_len"]),
              "spans": lambda: span_family(s["spans_train"], s["spans_len"])}
    return {name: makers[name]() for name in names}


__all__ = ["FAMILIES", "SIZES", "TaskFamily", "topic_family", "pair_family", "entity_family", "span_family",
           "families"]
