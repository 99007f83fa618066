"""Training examples for word2vec: subsampling, noise distribution, windows (chapter 3).

Everything here works on a *token stream*: one ``int64`` array of word ids for the whole
corpus, plus a same-length array of sentence (or document) numbers so that no window
crosses a boundary. :func:`stream` builds both from a list of id arrays.

Per epoch, word2vec (Mikolov et al. 2013) does three random things, all vectorised here
(loops run over the ``2 * window`` offsets, never over tokens):

1. **Subsampling of frequent words** (section 2.3): each occurrence of word ``w`` with
   relative frequency ``f`` is kept with probability :func:`keep_probabilities`. The paper
   writes the *discard* probability as ``1 - sqrt(t / f)``; the released ``word2vec.c``
   (and gensim, and this module) keep a word with ``(sqrt(f / t) + 1) * t / f``, capped at
   1, which keeps a little more (it equals ``sqrt(t/f) + t/f``).
   Discarded tokens are removed *before* windows are taken, so windows reach further.
2. **Dynamic window**: each centre draws ``b`` uniformly from ``0 .. window-1`` and uses
   the reduced window ``window - b``, so nearer words are sampled more often.
3. **Negative sampling** draws noise words from the unigram distribution raised to 3/4
   (:func:`noise_distribution`).

Skip-gram learns from ``(centre, context)`` pairs (:func:`skipgram_pairs`); CBOW predicts
the centre from the average of its context (:func:`cbow_windows`). The same windows also
hold skip-gram's pairs grouped by centre (row ``i``'s unmasked entries are exactly the
contexts :func:`skipgram_pairs` pairs with centre ``i``), which is how
:func:`ptm_lib.models.word2vec.train_word2vec` consumes them for both models.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np


def id_array(ids, name: str = "ids", vocab_size: int | None = None) -> np.ndarray:
    """``ids`` as an ``int64`` array, refusing what would be truncated or wrapped silently.

    Floats (``3.7`` would become word 3) and booleans raise; with ``vocab_size``, so does
    an id outside ``0 .. vocab_size - 1`` (NumPy would wrap a negative id to the end of
    the vocabulary). One min/max over the array.
    """
    arr = np.asarray(ids)
    if arr.size == 0:
        return arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer word ids, got dtype {arr.dtype}; encode the words with the "
                        "vocabulary (e.g. vocab.encode_known(tokens)) rather than passing floats or booleans.")
    if vocab_size is not None:
        low, high = int(arr.min()), int(arr.max())
        if low < 0 or high >= vocab_size:
            bad = low if low < 0 else high
            raise ValueError(f"{name} holds the id {bad}, outside the vocabulary 0..{vocab_size - 1}; encode the "
                             "corpus with the same vocabulary the model was built for (vocab_size=len(vocab)).")
    return arr.astype(np.int64, copy=False)


def check_window(window: int) -> None:
    """A window is a positive whole number of words on each side of the centre."""
    if not (isinstance(window, numbers.Integral) and not isinstance(window, bool) and window > 0):
        raise ValueError(f"window must be a positive number of words on each side, got {window!r}; pass e.g. window=5.")


def _check_stream(ids: np.ndarray, sent: np.ndarray) -> None:
    if len(ids) != len(sent):
        raise ValueError(f"ids has {len(ids)} tokens but sent has {len(sent)}; give one sentence number per token, "
                         "as stream(sentences) returns them.")


def stream(sentences: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate id arrays into one stream; return ``(ids, sentence_of_each_token)``."""
    if isinstance(sentences, np.ndarray) and sentences.dtype != object and sentences.ndim == 1:
        raise ValueError("stream() takes a list of id arrays, one per sentence, got one flat array of ids; "
                         "pass [ids] for a single sentence.")
    sentences = [id_array(s, "a sentence") for s in sentences if _sentence_length(s)]
    if not sentences:
        raise ValueError("The corpus is empty: no sentence has an in-vocabulary word; encode the sentences with "
                         "the vocabulary built from them (vocab.encode_known), or lower its min_count.")
    ids = np.concatenate(sentences)
    sent = np.repeat(np.arange(len(sentences)), [len(s) for s in sentences])
    return ids, sent


def _sentence_length(sentence) -> int:
    try:
        return len(sentence)
    except TypeError:
        raise ValueError(f"stream() takes a list of id arrays, one per sentence, but one item is "
                         f"{sentence!r}; pass [ids] for a single sentence.") from None


def keep_probabilities(counts: np.ndarray, sample: float = 1e-3) -> np.ndarray:
    """Probability of keeping one occurrence of each word, ``word2vec.c``'s formula.

    With ``f = count / total`` and threshold ``t = sample``:
    ``p_keep = min(1, (sqrt(f / t) + 1) * t / f)``. ``sample <= 0`` keeps everything.
    Shape ``(V,)``.
    """
    counts = _counts(counts)
    if not np.isfinite(sample):
        raise ValueError(f"sample must be a finite threshold (0 disables subsampling), got {sample!r}; "
                         "pass e.g. sample=1e-3.")
    if sample <= 0:
        return np.ones_like(counts)
    f = counts / counts.sum()
    with np.errstate(divide="ignore"):
        p = (np.sqrt(f / sample) + 1.0) * sample / f
    return np.minimum(p, 1.0)


def noise_distribution(counts: np.ndarray, power: float = 0.75) -> np.ndarray:
    """Negative-sampling distribution ``P_n(w) = count(w)^power / sum`` (section 2.2)."""
    weights = _counts(counts) ** power
    return weights / weights.sum()


def _counts(counts: np.ndarray) -> np.ndarray:
    """``counts`` as float64, refusing what no distribution can be made of."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 1 or not np.isfinite(counts).all() or (counts < 0).any() or counts.sum() <= 0:
        raise ValueError("counts must be one non-negative, finite count per word with a positive total, got "
                         f"shape {counts.shape} summing to {counts.sum() if counts.size else 0}; pass vocab.counts "
                         "of the vocabulary the ids come from.")
    return counts


def subsample(ids: np.ndarray, sent: np.ndarray, keep: np.ndarray,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Drop each token of the stream with probability ``1 - keep[id]``."""
    kept = rng.random(len(ids)) < keep[ids]
    return ids[kept], sent[kept]


def reduced_windows(n: int, window: int, rng: np.random.Generator) -> np.ndarray:
    """The dynamic window of each of ``n`` centres: uniform on ``1 .. window``."""
    check_window(window)
    return window - rng.integers(0, window, size=n)


def skipgram_pairs(ids: np.ndarray, sent: np.ndarray, window: int, rng: np.random.Generator | None = None,
                   dynamic: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """All ``(centre, context)`` id pairs of a stream, vectorised over offsets.

    A pair is made for every offset ``o`` with ``1 <= |o| <= w_i`` where ``w_i`` is the
    centre's reduced window (or ``window`` itself if ``dynamic=False``), inside the same
    sentence. Returns two ``int64`` arrays of equal length ``P`` (grouped by offset; shuffle
    them for training).
    """
    _check_stream(ids, sent)
    check_window(window)
    n = len(ids)
    reach = reduced_windows(n, window, rng or np.random.default_rng()) if dynamic else np.full(n, window)
    centres, contexts = [], []
    for o in range(1, window + 1):
        same = (sent[o:] == sent[:-o]) if o < n else np.zeros(0, dtype=bool)
        left = same & (reach[o:] >= o)    # centre i = j + o sees context j on its left
        right = same & (reach[:-o] >= o)  # centre j sees context j + o on its right
        centres += [ids[o:][left], ids[: n - o][right]]
        contexts += [ids[: n - o][left], ids[o:][right]]
    return np.concatenate(centres), np.concatenate(contexts)


def cbow_windows(ids: np.ndarray, sent: np.ndarray, window: int, rng: np.random.Generator | None = None,
                 dynamic: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CBOW examples: ``(contexts (N, 2*window), mask (N, 2*window), centres (N,))``.

    Row ``i`` holds the ids at offsets ``-window .. -1, 1 .. window`` around centre ``i``
    (0 where masked out: outside the reduced window, the sentence, or the stream).
    Centres with no context at all are dropped. With the same ``rng`` state, the unmasked
    entries are the pairs of :func:`skipgram_pairs`.
    """
    _check_stream(ids, sent)
    check_window(window)
    n = len(ids)
    reach = reduced_windows(n, window, rng or np.random.default_rng()) if dynamic else np.full(n, window)
    offsets = [o for o in range(-window, window + 1) if o != 0]
    contexts = np.zeros((n, len(offsets)), dtype=np.int64)
    mask = np.zeros((n, len(offsets)), dtype=bool)
    pos = np.arange(n)
    for k, o in enumerate(offsets):
        j = pos + o
        ok = (j >= 0) & (j < n) & (reach >= abs(o))
        ok[ok] &= sent[j[ok]] == sent[ok]
        contexts[ok, k] = ids[j[ok]]
        mask[:, k] = ok
    has = mask.any(1)
    return contexts[has], mask[has], ids[has]


__all__ = ["id_array", "check_window", "stream", "keep_probabilities", "noise_distribution", "subsample",
           "reduced_windows", "skipgram_pairs", "cbow_windows"]
