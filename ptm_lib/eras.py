"""Chapter 8, part 2: every era of the book on the same tasks, at the same label budgets.

    python -m ptm_lib.eras --seeds 3 --threads 1 --out data/results/eras.json

Each chapter of the book pretrained one kind of model and showed what it learned. This
module asks them all the same question: given ``k`` labelled examples of each class, how
well does a model that started from this pretraining do on a task it never saw? The tasks
are two of chapter 8's families (:mod:`ptm_lib.finetune.families`): BBC topic (one text,
5 classes) and KJV/WEB paraphrase pairs (two texts, 2 classes), each read to its first 64
words or pieces. For each budget and seed the same labelled examples (drawn with the seed)
go to every era, and every era is scored on the same held-out examples.

The eras (:func:`eras`), each used the way its paper used it:

- **random init**: our BERT's shape with fresh weights, fine-tuned (the floor);
- **word2vec** (chapter 3; skip-gram, trained here on the book's corpus) and **GloVe 6B**
  (Pennington et al. 2014, the published 50-d vectors): the mean of a text's word vectors
  under a linear layer, the vectors **frozen** or **fine-tuned** with it;
- **ELMo** (chapter 4): the frozen biLM's three layers, mixed by learned weights (Peters et
  al. 2018, eq. 1), averaged over the words, under a linear layer; alone, and beside the
  frozen word2vec vectors, as the paper feeds a task model ``[x_k; ELMo_k]`` (section 3.3);
- **GPT** (chapter 6): fine-tuned with its input transformations (Radford et al. 2018,
  section 3.3): a classifier on the extract token, both orders of a pair summed;
- **our BERT** (chapter 8's MLM + NSP) and **MiniLM** (a real pretrained encoder):
  fine-tuned with a linear layer on the pooled ``[CLS]`` vector.

A pair is read by the pooled models as ``[u, v, |u - v|, u * v]`` of its two mean vectors
(the features of Conneau et al. 2017's InferSent), since one mean cannot compare two texts.

:func:`main` writes one row per era, task, budget and seed, with each era's parameters and
its pretraining (tokens and CPU seconds, where we ran it), to the JSON file chapter 8 reads.
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import checkpoints, results, runtime
from .data import bible, skipgram, tasks, text, wordsets
from .data.batches import TensorBatches
from .data.vocab import Vocab
from .evaluate import accuracy
from .finetune import bert as bert_tuning
from .finetune import gpt as gpt_tuning
from .models import elmo
from .models.bert import BERT, BertForSequenceClassification, sequence_classification_loss
from .models.word2vec import Word2Vec, Word2VecConfig, train_word2vec
from .train import fit

PROGRAM = "python -m ptm_lib.eras"
BUDGETS = (8, 32, 128)
"""Labelled examples of each class: 40, 160 and 640 articles; 16, 64 and 256 pairs."""
TASKS = ("topic", "pair")
MAX_LEN = 64
"""Every model reads a text's first 64 words (word vectors, ELMo) or pieces (GPT, BERT)."""
SIZES = {"topic_test_per_class": 75, "pair_pool": 1024, "pair_test": 500}
"""Held-out examples (75 articles of each topic; 500 pairs) and the pool of pairs budgets draw from."""


@dataclass(frozen=True)
class Task:
    """``pool``: labelled ``(texts, label)`` examples budgets draw from; ``test``: held out.
    A topic example has one text, a pair example two."""

    name: str
    classes: int
    pool: list
    test: list


def load_tasks(sizes: Mapping[str, int] | None = None, names: Sequence[str] = TASKS) -> dict[str, Task]:
    """The tasks ``names`` with their pools and test sets at ``sizes`` (keys of :data:`SIZES`;
    missing keys take its values)."""
    bad = [n for n in names if n not in TASKS]
    unknown = set(sizes or {}) - set(SIZES)
    if bad or unknown:
        raise ValueError(f"unknown tasks {bad} or sizes {sorted(unknown)}; the tasks are {TASKS}, "
                         f"the sizes {sorted(SIZES)}.")
    s = {**SIZES, **(sizes or {})}
    made = {}
    if "topic" in names:
        texts, labels, topics = text.bbc_topics("train")
        test_texts, test_labels, _ = text.bbc_topics("test", per_class=s["topic_test_per_class"])
        made["topic"] = Task("topic", len(topics), [((t,), y) for t, y in zip(texts, labels)],
                             [((t,), y) for t, y in zip(test_texts, test_labels)])
    if "pair" in names:
        items = tasks.paraphrase_pairs(bible.load_parallel_verses(), s["pair_pool"] + s["pair_test"], seed=0)
        pairs = [((p.a, p.b), p.label) for p in items]
        made["pair"] = Task("pair", 2, pairs[:s["pair_pool"]], pairs[s["pair_pool"]:])
    return {n: made[n] for n in names}


def labelled(task: Task, per_class: int, seed: int) -> list:
    """``per_class`` examples of each class drawn from ``task.pool`` with ``seed``, in pool order."""
    rng = np.random.default_rng(seed)
    chosen = []
    for label in range(task.classes):
        members = [i for i, (_, y) in enumerate(task.pool) if y == label]
        text.check_count("per_class", per_class, len(members), f"{task.name} examples of class {label}")
        chosen += rng.choice(members, per_class, replace=False).tolist()
    return [task.pool[i] for i in sorted(chosen)]


def _labels(examples: list) -> torch.Tensor:
    return torch.tensor([y for _, y in examples])


def _steps(n_examples: int, recipe: Mapping) -> int:
    """Updates for a training set: ``epochs`` passes of ``batch_size``, at least ``min_steps``."""
    return max(recipe["epochs"] * -(-n_examples // recipe["batch_size"]), recipe["min_steps"])


# ------------------------------------------------------------------ BERT-shaped encoders


BERT_RECIPE = {"epochs": 10, "batch_size": 16, "lr": 3e-4, "head_lr": 5e-3, "min_steps": 100}
"""Chapter 8's ablation recipe (:data:`ptm_lib.ablation.RECIPE`), for our BERT and random init."""
MINILM_RECIPE = {"epochs": 3, "batch_size": 16, "lr": 2e-4, "head_lr": 5e-3, "min_steps": 50}
"""Chapter 7's learning rate for MiniLM, and BERT's own 3 epochs (Devlin et al. 2019, A.3): a
MiniLM step costs 8 of ours on a CPU, and at ten epochs its 18 runs would take an hour."""


class BertEra:
    """A BERT (ours, MiniLM, or fresh weights) fine-tuned with a linear layer on ``C``."""

    def __init__(self, load: Callable[[int], tuple[BERT, object]], recipe: Mapping):
        self.load, self.recipe = load, dict(recipe)

    def encode(self, tokenizer, examples: list) -> dict:
        second = [t[1] for t, _ in examples] if len(examples[0][0]) == 2 else None
        return {**bert_tuning.encode_texts(tokenizer, [t[0] for t, _ in examples], MAX_LEN, texts_b=second),
                "labels": _labels(examples)}

    def score(self, task: Task, train: list, seed: int) -> float:
        bert, tokenizer = self.load(seed)
        torch.manual_seed(seed)
        model = BertForSequenceClassification(bert.train(), task.classes)
        bert_tuning.fine_tune(model, self.encode(tokenizer, train), sequence_classification_loss, seed=seed,
                              desc=f"{task.name}, seed {seed}", **self.recipe)
        return bert_tuning.classification_accuracy(model, self.encode(tokenizer, task.test))

    def model(self, task: Task, texts: int = 1) -> nn.Module:
        return BertForSequenceClassification(self.load(0)[0], task.classes)


# ------------------------------------------------------------------ GPT


GPT_RECIPE = {"epochs": 10, "batch_size": 16, "lr": 5e-4, "min_steps": 100}
"""Chapter 6's learning rate and schedule (linear decay after 10% warm-up, weight decay 0.01),
run as long as the BERT recipe."""


class GPTEra:
    """Our GPT with its input transformations: ``classify`` for one text, ``similarity`` for a pair."""

    def __init__(self, checkpoint: str = "gpt_small.pt", recipe: Mapping = GPT_RECIPE):
        self.checkpoint, self.recipe = checkpoint, dict(recipe)

    def encode(self, tokenizer, examples: list):
        texts = list(zip(*[t for t, _ in examples]))
        kind = "similarity" if len(texts) == 2 else "classify"
        return (*gpt_tuning.encode_task(kind, tokenizer, MAX_LEN, *texts), _labels(examples)), kind

    def load(self):
        return checkpoints.load(checkpoints.book_checkpoint(self.checkpoint), kind="gpt")[:2]

    def model(self, task: Task, texts: int = 1) -> nn.Module:
        return gpt_tuning.GPTForTask(self.load()[0], "similarity" if texts == 2 else "classify",
                                     n_classes=task.classes)

    def score(self, task: Task, train: list, seed: int) -> float:
        gpt, tokenizer = self.load()
        data, kind = self.encode(tokenizer, train)
        torch.manual_seed(seed)
        model = gpt_tuning.GPTForTask(gpt, kind, n_classes=task.classes)
        fit(model, gpt_tuning.batches(*data, self.recipe["batch_size"], seed=seed), gpt_tuning.task_loss,
            steps=_steps(len(train), self.recipe), lr=self.recipe["lr"], schedule="linear", warmup=0.1,
            weight_decay=0.01, desc=f"{task.name}, seed {seed}")
        return gpt_tuning.task_accuracy(model, *self.encode(tokenizer, task.test)[0])


# ------------------------------------------------------------------ pooled word vectors and ELMo


class PooledClassifier(nn.Module):
    """Mean of a text's vectors, then a linear layer; a pair as ``[u, v, |u - v|, u * v]``.

    A word's vector is its row of ``embedding`` (looked up from ``ids``), or the biLM
    ``layers`` mixed by a :class:`~ptm_lib.models.elmo.ScalarMix`, or both side by side
    (``[x_k; ELMo_k]``, as Peters et al. 2018, section 3.3, feed a task model).
    ``forward(mask, ids=None, layers=None)``: ``mask`` ``(B, S, T)`` marks real words, ``ids``
    ``(B, S, T)``, ``layers`` ``(B, S, T, L, D)``; ``S`` is 1 for a text and 2 for a pair.
    Returns logits ``(B, n_classes)``.
    """

    def __init__(self, n_classes: int, texts: int, embedding: nn.Embedding | None = None, layers: int = 0,
                 layer_dim: int = 0):
        super().__init__()
        if embedding is None and not layers:
            raise ValueError("PooledClassifier needs word vectors (embedding=), biLM layers (layers=), or both.")
        self.embedding = embedding
        self.mix = elmo.ScalarMix(layers) if layers else None
        dim = (embedding.embedding_dim if embedding is not None else 0) + (layer_dim if layers else 0)
        self.head = nn.Linear(dim * (4 if texts == 2 else 1), n_classes)

    def forward(self, mask: torch.Tensor, ids: torch.Tensor | None = None,
                layers: torch.Tensor | None = None) -> torch.Tensor:
        parts = []
        if self.embedding is not None:
            parts.append(self.embedding(ids))
        if self.mix is not None:
            parts.append(self.mix(layers.movedim(3, 0)))  # (L, B, S, T, D) mixed to (B, S, T, D)
        vectors = torch.cat(parts, -1)
        weights = mask.unsqueeze(-1).to(vectors.dtype)
        means = (vectors * weights).sum(2) / weights.sum(2).clamp(min=1)  # (B, S, D)
        if means.shape[1] == 2:
            u, v = means.unbind(1)
            return self.head(torch.cat([u, v, (u - v).abs(), u * v], -1))
        return self.head(means[:, 0])


POOLED_RECIPE = {"epochs": 10, "batch_size": 16, "min_steps": 100, "frozen_lr": 1e-2, "fine_tuned_lr": 5e-3}
"""Chapter 3's learning rates for its bag-of-vectors classifier, run as long as the BERT recipe."""


def _words(examples: list) -> list[list[list[str]]]:
    """Each example's texts as their first :data:`MAX_LEN` lower-cased words."""
    return [[text.tokenize(t)[:MAX_LEN] for t in texts] for texts, _ in examples]


def _mask(words: list[list[list[str]]], width: int) -> torch.Tensor:
    lengths = torch.tensor([[len(w) for w in texts] for texts in words])
    return torch.arange(width) < lengths.unsqueeze(-1)


def _ids(words: list[list[list[str]]], stoi: Mapping[str, int], width: int) -> torch.Tensor:
    """Word ids ``(N, S, width)``: ``len(stoi)`` for a word not in ``stoi``, 0 past the text's end."""
    ids = torch.zeros(len(words), len(words[0]), width, dtype=torch.long)
    for i, texts in enumerate(words):
        for j, w in enumerate(texts):
            ids[i, j, :len(w)] = torch.tensor([stoi.get(word, len(stoi)) for word in w], dtype=torch.long)
    return ids


def _known(words: list[list[list[str]]], stoi: Mapping[str, int]) -> list[list[list[str]]]:
    """The words that have a vector (a static model drops the others, as chapter 3 does)."""
    return [[[w for w in text_words if w in stoi] for text_words in texts] for texts in words]


class _PooledEra:
    """Trains and scores a :class:`PooledClassifier` on batches of ``inputs(examples)``."""

    recipe: dict
    lr: float

    def inputs(self, examples: list) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def model(self, task: Task, texts: int) -> PooledClassifier:
        raise NotImplementedError

    def score(self, task: Task, train: list, seed: int) -> float:
        torch.manual_seed(seed)
        model = self.model(task, len(train[0][0]))
        data = {**self.inputs(train), "labels": _labels(train)}
        fit(model, TensorBatches(data, self.recipe["batch_size"], seed=seed, mask="mask"),
            lambda m, b: nn.functional.cross_entropy(m(b["mask"], b.get("ids"), b.get("layers")).float(), b["labels"]),
            steps=_steps(len(train), self.recipe), lr=self.lr, desc=f"{task.name}, seed {seed}")
        test = {**self.inputs(task.test), "labels": _labels(task.test)}
        return accuracy(model, TensorBatches(test, 64, shuffle=False, mask="mask"))


class WordVectorEra(_PooledEra):
    """Static word vectors (``load() -> (vectors (V, d), words)``), frozen or fine-tuned; a word
    with no vector is dropped."""

    def __init__(self, load: Callable[[], tuple[np.ndarray, list[str]]], fine_tuned: bool,
                 recipe: Mapping = POOLED_RECIPE):
        self.load, self.fine_tuned, self.recipe = load, fine_tuned, dict(recipe)
        self.lr = self.recipe["fine_tuned_lr" if fine_tuned else "frozen_lr"]

    @functools.cached_property
    def stoi(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.load()[1])}

    def inputs(self, examples: list) -> dict[str, torch.Tensor]:
        words = _known(_words(examples), self.stoi)
        width = max(1, max(len(w) for texts in words for w in texts))
        return {"mask": _mask(words, width), "ids": _ids(words, self.stoi, width)}

    def embedding(self, unknown_row: bool = False) -> nn.Embedding:
        """The vectors as a table, frozen or not; ``unknown_row`` adds a row of zeros for the
        words that have none."""
        vectors = torch.tensor(self.load()[0], dtype=torch.float32)  # a copy: fine-tuning must not change them
        if unknown_row:
            vectors = torch.cat([vectors, vectors.new_zeros(1, vectors.shape[1])])
        return nn.Embedding.from_pretrained(vectors, freeze=not self.fine_tuned)

    def model(self, task: Task, texts: int) -> PooledClassifier:
        return PooledClassifier(task.classes, texts, self.embedding())


class ELMoEra(_PooledEra):
    """ELMo as features: the frozen biLM's layers and a learned :class:`ScalarMix`, alone or
    beside frozen word vectors (``words``: a frozen :class:`WordVectorEra`, the paper's
    ``[x_k; ELMo_k]``; a word without a vector gets zeros there)."""

    def __init__(self, checkpoint: str = "elmo_small.pt", words: WordVectorEra | None = None,
                 recipe: Mapping = POOLED_RECIPE):
        self.checkpoint, self.words, self.recipe = checkpoint, words, dict(recipe)
        self.lr = self.recipe["frozen_lr"]
        self._layers: dict[tuple, torch.Tensor] = {}

    @functools.cached_property
    def bilm(self):
        model, vocab, _ = checkpoints.load(checkpoints.book_checkpoint(self.checkpoint), kind="elmo")
        return model, vocab

    def layers(self, words: list[list[list[str]]], width: int) -> torch.Tensor:
        """The biLM layers ``(N, S, width, L, D)`` of every text, each word's vector in each layer
        scaled to unit length (as the word vectors are, so that neither part drowns the other;
        the paper layer-normalises each biLM layer before mixing, section 3.2, because their
        scales differ); zero past a text's end. Each text is embedded once, then kept: the
        biLM is frozen."""
        model, vocab = self.bilm
        flat = [tuple(w) for texts in words for w in texts]
        missing = sorted({w for w in flat if w and w not in self._layers}, key=len)  # similar lengths batch well
        embedded = elmo.embed_sentences(model, vocab, [list(m) for m in missing]) if missing else []
        self._layers.update((m, nn.functional.normalize(layers, dim=-1)) for m, layers in zip(missing, embedded))
        n_layers, dim = model.config.n_representation_layers, 2 * model.config.d_model
        x = torch.zeros(len(words), len(words[0]), width, n_layers, dim)
        for i, texts in enumerate(words):
            for j, w in enumerate(texts):
                if w:
                    x[i, j, :len(w)] = self._layers[tuple(w)].transpose(0, 1)
        return x

    def inputs(self, examples: list) -> dict[str, torch.Tensor]:
        words = _words(examples)  # every word: the biLM reads characters, so it has a vector for each
        width = max(1, max(len(w) for texts in words for w in texts))
        data = {"mask": _mask(words, width), "layers": self.layers(words, width)}
        return data if self.words is None else {**data, "ids": _ids(words, self.words.stoi, width)}

    def model(self, task: Task, texts: int) -> PooledClassifier:
        bilm, _ = self.bilm
        embedding = self.words.embedding(unknown_row=True) if self.words is not None else None
        return PooledClassifier(task.classes, texts, embedding, layers=bilm.config.n_representation_layers,
                                layer_dim=2 * bilm.config.d_model)


# ------------------------------------------------------------------ the eras and their pretraining


def _count(module: nn.Module) -> dict[str, int]:
    """``total`` parameters of ``module`` and those ``trained`` (that require gradients)."""
    return {"total": sum(p.numel() for p in module.parameters()),
            "trained": sum(p.numel() for p in module.parameters() if p.requires_grad)}


WORD2VEC = {"dim": 100, "window": 5, "negatives": 5, "sample": 1e-3, "min_count": 5, "epochs": 3}
"""Chapter 3's CPU settings for skip-gram with negative sampling on the book's corpus."""


@functools.cache
def word2vec_vectors() -> tuple[np.ndarray, list[str], dict]:
    """Skip-gram vectors trained (seed 0) on :func:`ptm_lib.data.text.pretraining_corpus` with
    :data:`WORD2VEC`: ``(vectors (V, 100), words, record of tokens and seconds)``."""
    documents = text.pretraining_corpus()
    vocab = Vocab.build(documents, min_count=WORD2VEC["min_count"], specials=())
    encoded = [vocab.encode_known(doc) for doc in documents]
    ids, sent = skipgram.stream([doc[i:i + 1000] for doc in encoded for i in range(0, len(doc), 1000)])
    config = Word2VecConfig(len(vocab), dim=WORD2VEC["dim"], model="skipgram", loss="neg",
                            negatives=WORD2VEC["negatives"], window=WORD2VEC["window"], sample=WORD2VEC["sample"])
    model = Word2Vec(config, vocab.counts, seed=0)
    history = train_word2vec(model, ids, sent, epochs=WORD2VEC["epochs"], seed=0)
    record = {"tokens_seen": int(history.words), "seconds": round(history.seconds), "settings": WORD2VEC,
              "data": "the book's pretraining corpus (chapter 3)"}
    return model.vectors(), list(vocab.itos), record


@functools.cache
def glove_vectors() -> tuple[np.ndarray, list[str]]:
    """The 30,000 most frequent words of GloVe 6B-50d (chapter 3), rows scaled to unit length
    as word2vec's are, so that one learning rate suits both."""
    glove = wordsets.load_glove_50d(max_words=30_000)
    return glove.vectors / np.linalg.norm(glove.vectors, axis=1, keepdims=True), glove.words


GLOVE_PRETRAINING = {"tokens_seen": 6_000_000_000, "seconds": None,
                     "data": "Wikipedia 2014 and Gigaword 5, 6 billion tokens (Pennington et al. 2014); "
                             "its compute is not reported"}
MINILM_PRETRAINING = {"tokens_seen": None, "seconds": None,
                      "data": "a 6-layer MiniLM, made small by distilling a larger pretrained Transformer "
                              "(Wang et al. 2020), then trained by sentence-transformers on over a billion sentence "
                              "pairs (Reimers and Gurevych 2019's method); its compute is not reported"}


def _checkpoint_record(name: str, kind: str) -> dict:
    record = checkpoints.load(checkpoints.book_checkpoint(name), kind=kind)[2]
    keep = ("command", "steps", "tokens_seen", "seconds", "cpu", "threads")
    return {**{k: record[k] for k in keep if k in record}, "data": "the book's pretraining corpus"}


def _bert_checkpoint(name: str) -> Callable[[int], tuple[BERT, object]]:
    def load(seed: int):
        model, tokenizer, _ = checkpoints.load(checkpoints.book_checkpoint(name), kind="bert")
        return model.bert, tokenizer
    return load


def _random_bert(name: str) -> Callable[[int], tuple[BERT, object]]:
    def load(seed: int):
        model, tokenizer, _ = checkpoints.load(checkpoints.book_checkpoint(name), kind="bert")
        torch.manual_seed(seed)
        return BERT(model.config), tokenizer
    return load


def _minilm(seed: int):
    from .pretrained import load_minilm
    return load_minilm()


@dataclass(frozen=True)
class Era:
    """One row of the table: ``chapter`` of the book, how it is ``used``, the model that
    scores (``scorer.score(task, train, seed)``) and ``pretraining()``, its record."""

    chapter: str
    used: str
    scorer: object
    pretraining: Callable[[], dict]


ERA_NAMES = ("random init", "word2vec, frozen", "word2vec, fine-tuned", "GloVe 6B, frozen", "GloVe 6B, fine-tuned",
             "ELMo alone", "word2vec + ELMo", "GPT", "our BERT", "MiniLM")


def eras(names: Sequence[str] = ERA_NAMES) -> dict[str, Era]:
    """The eras ``names`` (of :data:`ERA_NAMES`), in the book's order."""
    bad = [n for n in names if n not in ERA_NAMES]
    if bad:
        raise ValueError(f"unknown eras {bad}; choose from {ERA_NAMES}.")
    w2v, glove = (lambda: word2vec_vectors()[:2]), glove_vectors
    made = {
        "random init": lambda: Era("8", "our BERT's shape, fresh weights, fine-tuned",
                                   BertEra(_random_bert("bert_mlm_nsp.pt"), BERT_RECIPE), lambda: {"tokens_seen": 0}),
        "word2vec, frozen": lambda: Era("3", "mean of word vectors, frozen", WordVectorEra(w2v, False),
                                        lambda: word2vec_vectors()[2]),
        "word2vec, fine-tuned": lambda: Era("3", "mean of word vectors, fine-tuned", WordVectorEra(w2v, True),
                                            lambda: word2vec_vectors()[2]),
        "GloVe 6B, frozen": lambda: Era("3", "mean of word vectors, frozen", WordVectorEra(glove, False),
                                        lambda: GLOVE_PRETRAINING),
        "GloVe 6B, fine-tuned": lambda: Era("3", "mean of word vectors, fine-tuned", WordVectorEra(glove, True),
                                            lambda: GLOVE_PRETRAINING),
        "ELMo alone": lambda: Era("4", "frozen biLM, learned mix of its 3 layers", ELMoEra(),
                                  lambda: _checkpoint_record("elmo_small.pt", "elmo")),
        "word2vec + ELMo": lambda: Era("4", "frozen word2vec vectors beside the mixed biLM layers",
                                       ELMoEra(words=WordVectorEra(w2v, False)),
                                       lambda: _checkpoint_record("elmo_small.pt", "elmo")),
        "GPT": lambda: Era("6", "fine-tuned with input transformations", GPTEra(),
                           lambda: _checkpoint_record("gpt_small.pt", "gpt")),
        "our BERT": lambda: Era("7, 8", "fine-tuned on [CLS] (chapter 8's MLM + NSP)",
                                BertEra(_bert_checkpoint("bert_mlm_nsp.pt"), BERT_RECIPE),
                                lambda: _checkpoint_record("bert_mlm_nsp.pt", "bert")),
        "MiniLM": lambda: Era("7", "fine-tuned on [CLS]", BertEra(_minilm, MINILM_RECIPE), lambda: MINILM_PRETRAINING),
    }
    return {name: made[name]() for name in ERA_NAMES if name in names}


def parameters(era: Era, task: Task) -> dict[str, int]:
    """``total`` and ``trained`` parameters of ``era``'s model for ``task`` (read as one text);
    ELMo's total counts its frozen biLM."""
    counts = _count(era.scorer.model(task, 1))
    if isinstance(era.scorer, ELMoEra):
        counts["total"] += sum(p.numel() for p in era.scorer.bilm[0].parameters())
    return counts


def run(chosen: Mapping[str, Era], tasks_: Mapping[str, Task], budgets: Sequence[int], seeds: Sequence[int],
        done: Callable[[dict], None] = lambda row: None) -> list[dict]:
    """Every era on every task, budget and seed: rows of ``era``, ``task``, ``per_class``,
    ``seed``, ``accuracy`` and ``seconds``; ``done(row)`` is called after each."""
    if not chosen or not tasks_ or not budgets or not seeds:
        raise ValueError("run needs at least one era, task, budget and seed.")
    rows = []
    for name, era in chosen.items():
        for task in tasks_.values():
            for per_class in budgets:
                for seed in seeds:
                    start = time.perf_counter()
                    score = era.scorer.score(task, labelled(task, per_class, seed), seed)
                    rows.append({"era": name, "task": task.name, "per_class": per_class, "seed": seed,
                                 "accuracy": round(score, 4), "seconds": round(time.perf_counter() - start, 1)})
                    done(rows[-1])
    return rows


RESULTS = "eras.json"
"""The grid chapter 8 reads, made by the command at the top of this module."""


def results_path() -> Path:
    """Where the book's grid is: ``data/results`` of a clone (or an editable install), or the
    copy a ``pip install`` puts under ``<sys.prefix>/share/ptm-lib/results``
    (:func:`ptm_lib.results.find`)."""
    return results.find(RESULTS, PROGRAM)


def load_results(path: Path | str | None = None) -> dict:
    """A grid written by :func:`main` (by default the book's, :func:`results_path`), with its
    runs checked by :func:`ptm_lib.results.load`: no era, task, budget and seed is scored
    twice, and every era it describes has runs."""
    return results.load(path, RESULTS, PROGRAM, ('era', 'task', 'per_class', 'seed'), 'eras')


def main(argv: list[str] | None = None):
    """``python -m ptm_lib.eras [options]``: run the grid and write it to ``--out``; an existing
    ``--out`` made with the same settings is extended (the eras run now replace their own rows),
    so that two processes, one per core, can each run some eras into one file in turn."""
    parser = argparse.ArgumentParser(prog=PROGRAM, description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write (rewritten after every run)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default: %(default)s)")
    parser.add_argument("--eras", nargs="+", choices=ERA_NAMES, default=list(ERA_NAMES), metavar="ERA",
                        help=f"which of {list(ERA_NAMES)} (default: all)")
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS), help="which tasks (default: both)")
    parser.add_argument("--budgets", nargs="+", type=int, default=list(BUDGETS),
                        help="labelled examples per class (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's own choice)")
    args = parser.parse_args(argv)
    if args.seeds < 1 or min(args.budgets) < 1:
        parser.error("--seeds and every --budgets must be 1 or more.")
    if args.out.is_dir():
        parser.error(f"--out {args.out} is a folder; give a file name such as {args.out / RESULTS}.")
    settings = {"sizes": SIZES, "max_len": MAX_LEN, "recipes": {"BERT": BERT_RECIPE, "MiniLM": MINILM_RECIPE,
                                                                "GPT": GPT_RECIPE, "pooled": POOLED_RECIPE}}
    result = results.existing(parser, args.out, settings, models="eras")
    runtime.set_threads(args.threads)
    run_record = results.run_record(PROGRAM, argv)
    chosen, tasks_ = eras(args.eras), load_tasks(SIZES, names=args.tasks)
    first = next(iter(tasks_.values()))
    result["runs"] = [r for r in result["runs"] if r["era"] not in args.eras]
    for name, era in chosen.items():
        result["eras"][name] = {"chapter": era.chapter, "used": era.used, "fine_tuning": run_record,
                                "parameters": parameters(era, first), "pretraining": era.pretraining()}
    save = results.saver(args.out, result, run_record, lambda row: (
        f"{row['era']:>20}  {row['task']:>5}  {row['per_class']:>4}/class  seed {row['seed']}  "
        f"accuracy {row['accuracy']:.3f}  ({row['seconds']:.0f} s)"))
    run(chosen, tasks_, args.budgets, range(args.seeds), done=save)
    print(f"wrote {args.out} ({run_record['seconds']} s)")
    return args.out


if __name__ == "__main__":
    main()

__all__ = ["BUDGETS", "TASKS", "MAX_LEN", "SIZES", "Task", "load_tasks", "labelled", "BertEra", "GPTEra",
           "PooledClassifier", "WordVectorEra", "ELMoEra", "Era", "ERA_NAMES", "eras", "parameters",
           "word2vec_vectors", "glove_vectors", "run", "RESULTS", "results_path", "load_results", "main"]
