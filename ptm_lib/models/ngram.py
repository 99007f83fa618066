"""Chapter 2's baseline: a count-based n-gram language model with Kneser–Ney smoothing.

An n-gram model predicts a word from the ``n - 1`` words before it by counting. Raw
relative frequencies give probability zero to everything unseen, so the counts are
*smoothed*. Interpolated Kneser–Ney (Kneser & Ney 1995; Chen & Goodman 1998, sections 2.7
and 3) is the classic recipe and the baseline Bengio et al. (2003) compare their NNLM
against. For a context ``h`` of ``k - 1`` words and its shortening ``h'`` (drop the
oldest word)::

    P_k(w | h) = max(c_k(h w) - D_k(c), 0) / c_k(h .)  +  gamma_k(h) * P_{k-1}(w | h')
    gamma_k(h) = (D_k1 N1(h .) + D_k2 N2(h .) + D_k3 N3+(h .)) / c_k(h .)
    P_0(w)     = 1 / V                         (uniform: every word gets probability > 0)

* ``c_n`` at the highest order is the ordinary count. At lower orders ``c_k(g)`` is the
  *continuation count* ``N1+(. g)``: the number of distinct words seen just before ``g``.
  "Francisco" is frequent but follows almost only "San", so as a fallback it should be
  rare; counting the contexts it completes, not its tokens, says so.
* ``c_k(h .)`` sums ``c_k(h w)`` over ``w``, and ``N_r(h .)`` counts the words ``w`` with
  ``c_k(h w) = r`` (``N3+``: three or more). What the discounts take away is exactly what
  ``gamma`` hands to the lower order, so every distribution sums to one.
* Modified KN (the default) uses three discounts per order, ``D1, D2, D3+``, estimated
  from that order's count-of-counts ``n_r`` (Chen & Goodman 1998, eq. 26):
  ``Y = n1 / (n1 + 2 n2)``, ``D_r = r - (r + 1) Y n_{r+1} / n_r``. Pass ``discount=0.75``
  for the original single-discount interpolated KN.
* A context never seen in training (``c_k(h .) = 0``) backs off entirely: ``P_k = P_{k-1}``.

Sentence boundaries: the corpus is one continuous stream of ids in which every sentence
ends with ``<eos>`` (Mikolov's PTB setting, and what the NNLM sees too), so n-grams run
across sentences and ``<eos>`` serves as the start-of-sentence context. At the very start
of a stream the model simply uses the shorter history it has (or the ``history=`` you pass).

:meth:`KneserNeyLM.generate` samples text from the model one word at a time, with the same
temperature and top-k sampler as the NNLM, so the two can be read side by side.

Implementation: each order's n-grams are numbered level by level. An n-gram of order ``k``
is the pair (id of its first ``k - 1`` words, last word), stored as the int64 key
``prefix_id * V + word``; ``np.unique`` over all positions counts them, and sorted keys
make every lookup a vectorised ``np.searchsorted``. Fitting a 5-gram on the 930k PTB
training tokens and scoring the test set takes a few seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..data.lm import as_prompt, generate, perplexity_from_nll

MIN_DISCOUNT = 0.05  # floor on estimated discounts: keeps some mass for the lower orders


@dataclass
class _Level:
    """The n-grams of one order ``k`` and the statistics of their contexts (order ``k - 1``)."""

    keys: np.ndarray  # (n_k,) sorted int64 keys prefix_id * V + word
    raw: np.ndarray  # (n_k,) how often each n-gram occurs in the training stream
    counts: np.ndarray  # (n_k,) the counts KN uses: raw at the top order, continuation below
    discounts: np.ndarray  # (4,) [0, D1, D2, D3+], indexed by min(count, 3)
    total: np.ndarray  # (n_{k-1},) c_k(h .) for every context id h
    gamma_num: np.ndarray  # (n_{k-1},) D1 N1(h .) + D2 N2(h .) + D3 N3+(h .)

    def lookup(self, queries: np.ndarray) -> np.ndarray:
        """Ids of the n-grams with the given keys, ``-1`` where the n-gram was never seen."""
        idx = np.searchsorted(self.keys, queries)
        idx_c = np.minimum(idx, len(self.keys) - 1)
        found = (idx < len(self.keys)) & (self.keys[idx_c] == queries)
        return np.where(found, idx_c, -1)

    def discount(self, counts: np.ndarray) -> np.ndarray:
        return self.discounts[np.minimum(counts, 3)]


def modified_kn_discounts(counts: np.ndarray) -> tuple[float, float, float]:
    """``(D1, D2, D3+)`` from the count-of-counts of ``counts`` (Chen & Goodman 1998, eq. 26).

    With ``n_r`` the number of n-grams seen exactly ``r`` times, ``Y = n1 / (n1 + 2 n2)`` and
    ``D_r = r - (r + 1) Y n_{r+1} / n_r``. Tiny corpora can lack some ``n_r``; such a
    discount falls back to ``0.5 r`` (then ``D1 = 0.5, D2 = 1, D3+ = 1.5``). Each is
    clipped into ``[MIN_DISCOUNT, r]`` so that no count goes negative.
    """
    n = np.bincount(np.minimum(counts[counts > 0], 5), minlength=6).astype(np.float64)
    y = n[1] / (n[1] + 2 * n[2]) if n[1] + n[2] > 0 else 0.5
    out = []
    for r in (1, 2, 3):
        d = r - (r + 1) * y * n[r + 1] / n[r] if n[r] > 0 and n[r + 1] > 0 else 0.5 * r
        out.append(float(np.clip(d, MIN_DISCOUNT, r)))
    return tuple(out)


class KneserNeyLM:
    """Interpolated (modified) Kneser–Ney n-gram language model over integer word ids.

    ``KneserNeyLM(order=5, vocab_size=10_000).fit(train_ids)`` counts every n-gram of the
    id stream ``train_ids``; then :meth:`distribution` gives ``P(. | context)`` as a vector
    over the vocabulary and :meth:`perplexity` scores a held-out stream. ``discount=None``
    estimates three discounts per order (modified KN); a number ``0 < D <= 1`` uses that one
    discount everywhere (interpolated KN). See the module docstring for the formulas.
    """

    def __init__(self, order: int, vocab_size: int, discount: float | None = None):
        if not 1 <= order <= 10:
            raise ValueError(f"order must be between 1 and 10 (2..5 is usual), got {order}.")
        if vocab_size < 1:
            raise ValueError(f"vocab_size must be positive, got {vocab_size}.")
        if discount is not None and not 0.0 < discount <= 1.0:
            raise ValueError(f"A fixed discount must lie in (0, 1], got {discount}; or pass None for modified KN.")
        self.order, self.vocab_size, self.fixed_discount = order, vocab_size, discount
        self.levels: list[_Level] = []  # levels[k - 1] holds the n-grams of order k

    # ----------------------------------------------------------------------------- fitting
    def _check_ids(self, ids, name: str) -> np.ndarray:
        arr = np.asarray(ids)
        if arr.ndim != 1:
            raise ValueError(f"{name} must be a 1-D sequence of word ids, got shape {arr.shape}.")
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"{name} must hold integer word ids, got {arr.dtype}; "
                            "encode the words with the vocabulary first.")
        arr = arr.astype(np.int64, copy=False)
        if arr.size and (arr.min() < 0 or arr.max() >= self.vocab_size):
            raise ValueError(
                f"{name} holds ids outside [0, {self.vocab_size}): min {arr.min()}, max {arr.max()}; "
                "was the model built with the right vocab_size?"
            )
        return arr

    def fit(self, ids) -> KneserNeyLM:
        """Count the n-grams of the id stream ``ids`` (orders 1..n) and set up the smoothing."""
        ids = self._check_ids(ids, "ids")
        T, V = len(ids), self.vocab_size
        if T < self.order:
            raise ValueError(f"A {self.order}-gram model needs at least {self.order} training tokens, got {T}.")
        # start_ids[p] = id of the (k-1)-gram that starts at position p (the empty gram: 0)
        start_ids = np.zeros(T + 1, dtype=np.int64)
        raws, suffixes, keys_per_level = [], [], []
        for k in range(1, self.order + 1):
            n_pos = T - k + 1
            keys = start_ids[:n_pos] * V + ids[k - 1 : T]  # (prefix starting at p, last word)
            uniq, first, inverse, raw = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
            # the suffix of the k-gram at p (drop its first word) is the (k-1)-gram at p + 1
            suffixes.append(start_ids[first + 1] if k > 1 else np.zeros(len(uniq), dtype=np.int64))
            keys_per_level.append(uniq)
            raws.append(raw.astype(np.int64))
            start_ids = inverse.reshape(-1).astype(np.int64)
        self.levels = []
        for k in range(1, self.order + 1):
            keys, raw = keys_per_level[k - 1], raws[k - 1]
            if k == self.order:
                counts = raw
            else:  # continuation count: distinct words seen before this k-gram
                counts = np.bincount(suffixes[k], minlength=len(keys)).astype(np.int64)
            if self.fixed_discount is not None:
                d1 = d2 = d3 = self.fixed_discount
            else:
                d1, d2, d3 = modified_kn_discounts(counts)
            discounts = np.array([0.0, d1, d2, d3])
            parents = keys // V
            n_contexts = len(keys_per_level[k - 2]) if k > 1 else 1
            total = np.bincount(parents, weights=counts, minlength=n_contexts)
            # what the discounts take from a context's words (discounts[0] = 0 for unseen ones)
            gamma_num = np.bincount(parents, weights=discounts[np.minimum(counts, 3)], minlength=n_contexts)
            self.levels.append(_Level(keys, raw, counts, discounts, total, gamma_num))
        return self

    def _require_fit(self) -> None:
        if not self.levels:
            raise RuntimeError("The model has not been fitted yet: call .fit(train_ids) first.")

    @property
    def discounts(self) -> list[tuple[float, float, float]]:
        """``(D1, D2, D3+)`` of every order, lowest order first."""
        self._require_fit()
        return [tuple(float(d) for d in level.discounts[1:]) for level in self.levels]

    def _gram_id(self, gram: Sequence[int]) -> int:
        """Id of an n-gram (a sequence of word ids) in its level; ``-1`` if never seen; 0 for ``()``."""
        gid = 0
        for k, w in enumerate(gram, start=1):
            gid = int(self.levels[k - 1].lookup(np.array([gid * self.vocab_size + int(w)]))[0])
            if gid < 0:
                return -1
        return gid

    def count(self, ngram: Sequence[int]) -> int:
        """How often the n-gram (a tuple of 1..order word ids) occurs in the training stream."""
        self._require_fit()
        ngram = self._check_ids(list(ngram), "ngram")
        if not 1 <= len(ngram) <= self.order:
            raise ValueError(f"A {self.order}-gram model counts n-grams of length 1..{self.order}, got {len(ngram)}.")
        gid = self._gram_id(ngram)
        return 0 if gid < 0 else int(self.levels[len(ngram) - 1].raw[gid])

    # ----------------------------------------------------------------------------- scoring
    def distribution(self, context: Sequence[int] = ()) -> np.ndarray:
        """``P(w | context)`` for every word ``w``: a float64 vector of shape ``(vocab_size,)`` summing to 1.

        Only the last ``order - 1`` ids of ``context`` matter; a shorter or unseen context
        uses what it has and backs off to the lower orders.
        """
        self._require_fit()
        context = self._check_ids(list(context), "context")
        V = self.vocab_size
        history = context[max(0, len(context) - (self.order - 1)) :]
        p = np.full(V, 1.0 / V)
        for k, level in enumerate(self.levels, start=1):
            if k - 1 > len(history):
                break
            h = self._gram_id(history[len(history) - (k - 1) :])
            if h < 0 or level.total[h] == 0:
                continue  # unseen context: P_k = P_{k-1}
            lo, hi = np.searchsorted(level.keys, [h * V, (h + 1) * V])
            numer = np.zeros(V)
            c = level.counts[lo:hi]
            numer[level.keys[lo:hi] % V] = np.maximum(c - level.discount(c), 0.0)
            p = (numer + level.gamma_num[h] * p) / level.total[h]
        return p

    def generate(self, prompt: Sequence[int], max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, generator: torch.Generator | None = None) -> np.ndarray:
        """The id sequence ``prompt`` followed by ``max_new_tokens`` words sampled from the
        model: an int64 array of length ``len(prompt) + max_new_tokens``.

        Each word is drawn from :meth:`distribution` given the last ``order - 1`` words,
        sharpened or flattened by ``temperature`` (``p ** (1 / temperature)``, renormalised)
        and cut to the ``top_k`` most likely words (``top_k=1`` is greedy), with
        ``generator`` (a ``torch.Generator``) for reproducible samples: the same sampler,
        :func:`ptm_lib.data.lm.sample`, as the NNLM's and GPT's.
        """
        self._require_fit()
        prompt = self._check_ids(as_prompt(prompt).numpy(), "prompt")
        out = generate(lambda window: torch.from_numpy(np.log(self.distribution(window.numpy()))), prompt,
                       max_new_tokens, max(self.order - 1, 1), temperature, top_k, generator)
        return out.numpy()

    def prob(self, context: Sequence[int], word: int) -> float:
        """``P(word | context)``."""
        word = int(self._check_ids([word], "word")[0])
        return float(self.distribution(context)[word])

    def log_probs(self, ids, history: Sequence[int] = ()) -> np.ndarray:
        """Natural-log probability of every token of ``ids`` given the tokens before it.

        ``history`` (e.g. ``[eos_id]``) is context for the first tokens and is not scored.
        Returns a float64 array of shape ``(len(ids),)``; all orders are computed at once for
        all positions.
        """
        self._require_fit()
        ids = self._check_ids(ids, "ids")
        history = self._check_ids(list(history), "history")
        seq = np.concatenate([history, ids])
        L, V, skip = len(seq), self.vocab_size, len(history)
        # end_ids[j][t] = id of the j-gram ending at position t (-1: unseen or before the start)
        end_ids = [np.zeros(L, dtype=np.int64)]
        for level in self.levels:
            prev = np.concatenate([[0 if len(end_ids) == 1 else -1], end_ids[-1][:-1]])
            gid = level.lookup(np.maximum(prev, 0) * V + seq)
            end_ids.append(np.where(prev >= 0, gid, -1))
        p = np.full(L, 1.0 / V)
        for k, level in enumerate(self.levels, start=1):
            ctx = end_ids[k - 1]
            ctx = np.concatenate([[0 if k == 1 else -1], ctx[:-1]])  # the context ends at t - 1
            full = end_ids[k]
            total = np.where(ctx >= 0, level.total[np.maximum(ctx, 0)], 0.0)
            c = np.where(full >= 0, level.counts[np.maximum(full, 0)], 0)
            gamma_num = level.gamma_num[np.maximum(ctx, 0)]
            seen = total > 0
            smoothed = (np.maximum(c - level.discount(c), 0.0) + gamma_num * p) / np.where(seen, total, 1.0)
            p = np.where(seen, smoothed, p)
        return np.log(p[skip:])

    def log_prob_sequence(self, ids, history: Sequence[int] = ()) -> float:
        """Total natural-log probability of the stream ``ids`` (see :meth:`log_probs`)."""
        return float(self.log_probs(ids, history).sum())

    def perplexity(self, ids, history: Sequence[int] = ()) -> float:
        """``exp`` of the mean negative log-probability per token of ``ids``."""
        logp = self.log_probs(ids, history)
        return perplexity_from_nll(-float(logp.sum()), len(logp))

    def __repr__(self) -> str:
        kind = "modified" if self.fixed_discount is None else f"D={self.fixed_discount}"
        sizes = ", ".join(str(len(level.keys)) for level in self.levels) or "not fitted"
        return f"KneserNeyLM(order={self.order}, vocab_size={self.vocab_size}, {kind}; n-grams per order: {sizes})"


__all__ = ["KneserNeyLM", "modified_kn_discounts"]
