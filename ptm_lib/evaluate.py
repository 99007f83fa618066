"""Metrics shared by the chapters: accuracy, and for word vectors (chapter 3) nearest
neighbours, analogies (3CosAdd, Mikolov et al. 2013) and word similarity (Spearman).

Accuracy is written once: :func:`fraction_correct` is the share of predictions equal to
their labels (labels :data:`~ptm_lib.train.IGNORE` not counted), and :func:`accuracy` runs
a model over a data set (:func:`predict`) and scores its arg-max with it. Every chapter's
accuracy goes through these two: image and text classifiers (chapters 1 and 3), the
delayed-copy task (chapter 5), GPT's and BERT's fine-tuned tasks (chapters 6 and 7), and
the thresholded similarities of chapter 4's word-in-context test.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from .data.batches import TensorBatches
from .data.vocab import OutOfVocabularyError  # raised for unknown words, a KeyError
from .train import IGNORE, evaluating, to_device


def fraction_correct(predictions, labels, dtype: torch.dtype = torch.float64) -> float:
    """The share of ``predictions`` equal to their ``labels`` (tensors or arrays of one shape),
    counting only the labels that are not :data:`~ptm_lib.train.IGNORE`.

    ``dtype`` is the precision of the share: float64, the exact ratio ``correct / scored``
    rounded once, by default; :func:`accuracy` keeps float32, the precision of the mean that
    chapters 1, 3 and 7 have always reported (the two differ in the eighth digit, enough to
    flip a rounded table entry).
    """
    predictions, labels = torch.as_tensor(predictions), torch.as_tensor(labels)
    if predictions.shape != labels.shape:
        raise ValueError(f"predictions {tuple(predictions.shape)} and labels {tuple(labels.shape)} must have one "
                         "shape: one prediction per label (take the arg-max of scores first).")
    scored = labels != IGNORE
    if not scored.any():
        raise ValueError("Every label is IGNORE (or there are none): there is nothing to score.")
    return (predictions == labels)[scored].to(dtype).mean().item()


def _model_inputs(model: torch.nn.Module, batch: Any) -> tuple[tuple, dict]:
    """How a batch is given to ``model``: ``(inputs..., labels)`` -> ``model(*inputs)``, a lone
    tensor -> ``model(x)``, a dict -> the entries the model's ``forward`` has parameters for,
    by name (``ids``, ``segments``, ``attention_mask``; ``features``, ``static``)."""
    if isinstance(batch, Mapping):
        parameters = inspect.signature(model.forward).parameters
        kwargs = {k: v for k, v in batch.items() if k in parameters}
        missing = [name for name, p in parameters.items() if p.default is p.empty and name not in kwargs
                   and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        if missing:
            raise ValueError(f"{type(model).__name__}.forward needs {missing}, but a batch is a dict with keys "
                             f"{sorted(batch)}; yield (x, y) pairs, or name the entries after the forward's "
                             "parameters.")
        return (), kwargs
    if isinstance(batch, (tuple, list)):
        if len(batch) < 2:
            raise ValueError(f"a batch is a {type(batch).__name__} of {len(batch)}; yield (inputs, labels) pairs.")
        return tuple(batch[:-1]), {}
    return (batch,), {}


def _labels(batch: Any) -> torch.Tensor:
    """The labels of a batch: the last element of a tuple, ``batch["labels"]`` of a dict."""
    if isinstance(batch, (tuple, list)) and len(batch) >= 2:
        return batch[-1]
    if isinstance(batch, Mapping) and "labels" in batch:
        return batch["labels"]
    kind = f"a dict with keys {sorted(batch)}" if isinstance(batch, Mapping) else f"a {type(batch).__name__}"
    raise ValueError(f"accuracy needs labels: (inputs, labels) batches or dicts with 'labels', but a batch is {kind}; "
                     "yield (x, y) pairs, or add the labels.")


def _batches(data: Any, batch_size: int) -> Iterable:
    """A dict of equal-length tensors is cut, in order, into full-width batches; anything
    else is already an iterable of batches."""
    if isinstance(data, Mapping):
        return TensorBatches(data, batch_size, shuffle=False, trim_padding=False)
    return data


def _cpu(output: Any) -> Any:
    return tuple(o.cpu() for o in output) if isinstance(output, tuple) else output.cpu()


def _run(model: torch.nn.Module, data: Any, device, batch_size: int, step: Callable) -> list:
    """``step(output, batch)`` for every batch of ``data``, the model in eval mode without gradients."""
    device = device or next(model.parameters()).device
    with evaluating(model):
        results = []
        for batch in _batches(data, batch_size):
            args, kwargs = _model_inputs(model, batch)
            results.append(step(model(*to_device(args, device), **to_device(kwargs, device)), batch))
    if not results:
        raise ValueError("No batches to evaluate on: data is empty; pass at least one (x, y) batch.")
    return results


def predict(model: torch.nn.Module, data: Any, device: torch.device | str | None = None,
            batch_size: int = 64) -> list:
    """The outputs of ``model`` on every batch of ``data``, in order, each moved to the CPU
    (a tensor, or a tuple of tensors for a model with several outputs, such as span extraction).

    ``data`` is an iterable of batches -- ``(inputs, labels)`` pairs, ``(input_1, ...,
    input_k, labels)`` tuples, lone input tensors, or dicts whose entries are passed by the
    names of the model's ``forward`` parameters -- or a dict of equal-length tensors, which
    is cut in order into batches of ``batch_size`` at its full width, so that per-token
    outputs of all batches concatenate. The model runs in eval mode without gradients on its
    own device (or ``device``), and its mode is restored afterwards.
    """
    return _run(model, data, device, batch_size, lambda output, batch: _cpu(output))


def accuracy(model: torch.nn.Module, data: Any, device: torch.device | str | None = None, batch_size: int = 64,
             dtype: torch.dtype = torch.float32) -> float:
    """Fraction of the labels in ``data`` that ``model``'s highest score picks (:func:`fraction_correct`).

    ``data`` is as for :func:`predict`; the labels are the last element of each tuple batch,
    or ``"labels"`` of a dict, and labels :data:`~ptm_lib.train.IGNORE` are not counted (the
    delayed-copy task's first positions). ``dtype``: see :func:`fraction_correct`.
    """
    pairs = _run(model, data, device, batch_size,
                 lambda scores, batch: (scores.argmax(-1).cpu(), _labels(batch).cpu()))
    predictions, labels = zip(*pairs)
    return fraction_correct(torch.cat(predictions), torch.cat(labels), dtype)


def _pair(batch: Any) -> tuple[Any, Any]:
    """An ``(x, y)`` batch, or a clear error for anything else (a dict batch, a lone tensor)."""
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    kind = f"a dict with keys {sorted(batch)}" if isinstance(batch, Mapping) else f"a {type(batch).__name__}"
    raise ValueError(f"embed needs (inputs, labels) batches, but a batch is {kind}; yield (x, y) pairs.")


@torch.no_grad()
def embed(fn: Callable[[torch.Tensor], torch.Tensor], data: Iterable,
          device: torch.device | str = "cpu") -> torch.Tensor:
    """Stack ``fn(x)`` (flattened per example) over the ``(x, y)`` batches of ``data``."""
    parts = [fn(to_device(_pair(batch)[0], device)).flatten(1).float().cpu() for batch in data]
    if not parts:
        raise ValueError("No batches to embed: data is empty; pass at least one (x, y) batch.")
    return torch.cat(parts)


# ---------------------------------------------------------------------------------------
# Word vectors (chapter 3). ``vectors`` is a ``(V, d)`` array (or tensor) whose row ``i`` is
# the vector of ``words[i]``; rows are normalised here, so any scale will do.

def _unit_rows(vectors: Any, words: Sequence[str]) -> np.ndarray:
    """The rows of ``vectors`` scaled to unit length, after checking that there is one
    finite row per word (a mismatch would score words against other words' vectors)."""
    v = (vectors.detach().cpu().float().numpy() if isinstance(vectors, torch.Tensor)
         else np.asarray(vectors, dtype=np.float32))
    if v.ndim != 2:
        raise ValueError(f"vectors must be a (words, dimensions) matrix, got shape {v.shape}; pass one row per "
                         "word, e.g. model.vectors().")
    if len(v) != len(words):
        raise ValueError(f"{len(words)} words but {len(v)} vector rows; row i must be the vector of words[i]: pass "
                         "the words of the vocabulary the vectors were trained with (e.g. vocab.itos).")
    if not np.isfinite(v).all():
        raise ValueError("vectors contain NaN or infinite values, so no similarity is meaningful; training "
                         "diverged: retrain with a lower learning rate.")
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def _positive_int(value: Any, name: str, example: int) -> None:
    if not (isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1):
        raise ValueError(f"{name} must be a positive integer, got {value!r}; pass e.g. {name}={example}.")


def _lookup(words: Sequence[str], lower: bool) -> dict[str, int]:
    """Word -> row; with ``lower`` the first (most frequent) row of each lower-cased form."""
    index: dict[str, int] = {}
    for i, w in enumerate(words):
        index.setdefault(w.lower() if lower else w, i)
    return index


def nearest(vectors: Any, words: Sequence[str], query: str, k: int = 10) -> list[tuple[str, float]]:
    """The ``k`` words with the highest cosine similarity to ``query`` (itself excluded).

    Raises :class:`OutOfVocabularyError` (a ``KeyError``) naming ``query`` if it has no vector.
    """
    _positive_int(k, "k", 10)
    unit = _unit_rows(vectors, words)
    index = _lookup(words, lower=False)
    if query not in index:
        raise OutOfVocabularyError(
            f"{query!r} is not in the vocabulary of {len(words)} words; check its spelling and "
            "case, or lower min_count so that rarer words get vectors."
        )
    sims = unit @ unit[index[query]]
    sims[index[query]] = -np.inf
    top = np.argsort(-sims, kind="stable")[:k]
    return [(words[i], float(sims[i])) for i in top]


def _as_question(q: Any) -> tuple[str, str, str, str, str]:
    """``(section, a, b, c, d)`` from an ``Analogy``-like object or a 4/5-tuple."""
    if hasattr(q, "a"):
        return getattr(q, "section", ""), q.a, q.b, q.c, q.d
    if isinstance(q, str) or not hasattr(q, "__len__") or len(q) not in (4, 5):
        shown = f"{len(q)} words {tuple(q)!r}" if hasattr(q, "__len__") and not isinstance(q, str) else repr(q)
        raise ValueError(f"an analogy question needs 4 words a : b :: c : d, as (a, b, c, d) or (section, a, b, c, d); "
                         f"got {shown}. Load the Google set with ptm_lib.data.wordsets.load_analogies().")
    return ("", *q) if len(q) == 4 else tuple(q)


def analogy(vectors: Any, words: Sequence[str], questions: Iterable[Any], restrict: int | None = None,
            lower: bool = True, batch_size: int = 1024) -> dict[str, Any]:
    """Accuracy on "a is to b as c is to d" questions by 3CosAdd (Mikolov et al. 2013).

    The answer is ``argmax_x cos(x, b) - cos(x, a) + cos(x, c)`` over the vocabulary (or its
    first ``restrict`` rows, i.e. the most frequent words if ``words`` is sorted by count),
    excluding ``a``, ``b`` and ``c``; it is correct if it is ``d``. Questions with any word
    outside that vocabulary are skipped and counted in ``coverage`` (as gensim does).
    ``lower`` compares lower-cased words (the Google set is capitalised). Scores are computed
    in batches with one matrix product each. Returns ``accuracy`` (over covered questions),
    ``coverage``, ``correct``, ``total`` and ``sections``: per section ``{accuracy, correct,
    covered, total}``.
    """
    if restrict is not None:
        _positive_int(restrict, "restrict", 30_000)
    _positive_int(batch_size, "batch_size", 1024)
    unit = _unit_rows(vectors, words)
    words = list(words)[:restrict] if restrict else list(words)
    unit = unit[: len(words)]
    index = _lookup(words, lower)
    rows, names, totals = [], [], {}
    for q in questions:
        section, *quad = _as_question(q)
        totals[section] = totals.get(section, 0) + 1
        ids = [index.get(w.lower() if lower else w) for w in quad]
        if None not in ids:
            rows.append(ids)
            names.append(section)
    total = sum(totals.values())
    if total == 0:
        raise ValueError("No analogy questions were given; pass e.g. ptm_lib.data.wordsets.load_analogies().")
    ids = np.asarray(rows, dtype=np.int64).reshape(-1, 4)
    hits = np.zeros(len(ids), dtype=bool)
    for lo in range(0, len(ids), batch_size):
        a, b, c, d = ids[lo:lo + batch_size].T
        scores = (unit[b] - unit[a] + unit[c]) @ unit.T  # (batch, V)
        r = np.arange(len(a))
        scores[r, a] = scores[r, b] = scores[r, c] = -np.inf
        hits[lo:lo + batch_size] = scores.argmax(1) == d
    sections = {}
    for name, n in totals.items():
        mine = np.array([s == name for s in names], dtype=bool)
        covered = int(mine.sum())
        correct = int(hits[mine].sum()) if covered else 0
        sections[name] = {"accuracy": correct / covered if covered else float("nan"),
                          "correct": correct, "covered": covered, "total": n}
    correct = int(hits.sum())
    return {"accuracy": correct / len(ids) if len(ids) else float("nan"), "coverage": len(ids) / total,
            "correct": correct, "total": total, "sections": sections}


def similarity(vectors: Any, words: Sequence[str], pairs: Iterable[tuple[str, str, float]],
               lower: bool = True) -> dict[str, float]:
    """Spearman correlation between cosine similarities and human scores.

    ``pairs`` are ``(word1, word2, score)`` as in WordSim-353 or SimLex-999; pairs with an
    out-of-vocabulary word are skipped. Returns ``spearman``, ``coverage`` and ``pairs``
    (the number used).
    """
    from scipy.stats import spearmanr

    index = _lookup(words, lower)
    pairs = [_as_rated_pair(p) for p in pairs]
    if not pairs:
        raise ValueError("No word pairs were given; pass e.g. ptm_lib.data.wordsets.load_wordsim353().")
    unit = _unit_rows(vectors, words)
    found = [(index.get(a.lower() if lower else a), index.get(b.lower() if lower else b), s) for a, b, s in pairs]
    found = [(i, j, s) for i, j, s in found if i is not None and j is not None]
    if len(found) < 2:
        return {"spearman": float("nan"), "coverage": len(found) / len(pairs), "pairs": len(found)}
    i, j, human = map(np.asarray, zip(*found))
    cos = (unit[i] * unit[j]).sum(1)
    return {"spearman": float(spearmanr(cos, human).statistic), "coverage": len(found) / len(pairs),
            "pairs": len(found)}


def _as_rated_pair(pair: Any) -> tuple[str, str, float]:
    """``(word1, word2, score)`` with a finite score, or a clear error."""
    if isinstance(pair, str) or not hasattr(pair, "__len__") or len(pair) != 3:
        raise ValueError(f"a similarity pair is (word1, word2, human score), got {pair!r}; load the benchmarks with "
                         "ptm_lib.data.wordsets.load_wordsim353() or load_simlex999().")
    a, b, score = pair
    if not np.isfinite(score):
        raise ValueError(f"the pair {pair!r} has no finite human score, and Spearman's rho over it would be NaN; "
                         "drop the pair or fix its score.")
    return a, b, score


__all__ = ["fraction_correct", "predict", "accuracy", "embed", "nearest", "analogy", "similarity",
           "OutOfVocabularyError"]
