"""Chinese text for the Chinese readers' page: a word-frequency dictionary and segmentation.

Written Chinese puts no spaces between words, so before a word-level model (chapters 2-4)
can read a sentence, something must decide where its words end. The classic ambiguity is
南京市长江大桥, "the Yangtze River Bridge of Nanjing City" (南京市 / 长江大桥), which also
reads, character for character, as "Nanjing's mayor, Jiang Daqiao" (南京 / 市长 / 江大桥).

A unigram language model (chapter 2 with n = 1) settles it: among all ways of cutting the
string into dictionary words, take the one whose words are most probable together,

    argmax over segmentations w_1 .. w_m of  sum_i log P(w_i),   P(w) = count(w) / N,

found by dynamic programming over the string's positions (:func:`best_segmentation`). This
is the core of jieba's default mode (Sun 2012): a dictionary of 349,045 words with counts
from segmented Chinese corpora, a graph of every dictionary word in the sentence, and the
most probable route through it. A character that starts no dictionary
word is a word of its own, with count 1 (our choice; jieba adds an HMM for unknown words).

    counts = load_jieba_counts()
    best_segmentation("南京市长江大桥", counts)   # ['南京市', '长江大桥']
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

from ptm_lib.data import sources

MAX_WORD = 16  # characters: no dictionary word is longer (jieba's longest has 16)


def load_jieba_counts() -> dict[str, int]:
    """jieba's dictionary as ``{word: count}`` (349,045 words; data set ``jieba_dict``)."""
    counts: dict[str, int] = {}
    with open(sources.path("jieba_dict", "dict"), encoding="utf-8") as lines:
        for line in lines:
            word, count, *_ = line.split()
            counts[word] = int(count)
    return counts


def _check(text: str, counts: Mapping[str, int]) -> None:
    if not isinstance(text, str) or not text:
        raise ValueError(f"give a non-empty string of Chinese text, got {text!r}.")
    if not counts:
        raise ValueError("the dictionary is empty; load one with load_jieba_counts().")


def word_log_prob(word: str, counts: Mapping[str, int], total: int) -> float:
    """``log P(word)`` under the unigram model: ``log(count / total)``; a single character
    missing from the dictionary counts once, a longer unknown string is impossible (-inf)."""
    count = counts.get(word, 1 if len(word) == 1 else 0)
    return math.log(count / total) if count else -math.inf


def segmentations(text: str, counts: Mapping[str, int]) -> Iterator[list[str]]:
    """Every way of cutting ``text`` into dictionary words (or single characters), in order
    of the first word's length, longest first. There are up to ``2 ** (len(text) - 1)``:
    use it on short strings, :func:`best_segmentation` on sentences."""
    _check(text, counts)

    def cuts(start: int) -> Iterator[list[str]]:
        if start == len(text):
            yield []
            return
        for end in range(min(len(text), start + MAX_WORD), start, -1):
            word = text[start:end]
            if end - start == 1 or word in counts:
                for rest in cuts(end):
                    yield [word, *rest]

    yield from cuts(0)


def segmentation_log_prob(words: list[str], counts: Mapping[str, int], total: int | None = None) -> float:
    """``sum log P(w)`` of a segmentation under the unigram model (``total``: the counts' sum)."""
    total = total or sum(counts.values())
    return sum(word_log_prob(word, counts, total) for word in words)


def best_segmentation(text: str, counts: Mapping[str, int], total: int | None = None) -> list[str]:
    """The most probable segmentation of ``text`` under the unigram model, by dynamic
    programming: ``best[i]`` is the best log-probability of ``text[:i]``, and each position
    looks back over the dictionary words ending there. O(len(text) * MAX_WORD)."""
    _check(text, counts)
    total = total or sum(counts.values())
    best = [0.0] + [-math.inf] * len(text)
    back = [0] * (len(text) + 1)
    for end in range(1, len(text) + 1):
        for start in range(max(0, end - MAX_WORD), end):
            score = best[start] + word_log_prob(text[start:end], counts, total)
            if score > best[end]:
                best[end], back[end] = score, start
    words, end = [], len(text)
    while end:
        words.append(text[back[end]:end])
        end = back[end]
    return words[::-1]


__all__ = ["MAX_WORD", "load_jieba_counts", "word_log_prob", "segmentations", "segmentation_log_prob",
           "best_segmentation"]
