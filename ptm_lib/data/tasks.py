"""Labelled tasks for fine-tuning GPT (chapter 6), as plain Python data.

Radford et al. (2018, section 3.3 and figure 1) fine-tune one pretrained Transformer on
very different tasks by turning each input into a single token sequence: a text for
classification, two texts joined by a delimiter for entailment or similarity, a context
and each candidate ending for multiple choice.  This module builds one task of each
shape from the book's own corpora, as strings and labels; :mod:`ptm_lib.finetune.gpt`
adds the special tokens.  Everything is deterministic given ``seed``, and all text is in
the book's normalised form (lowercase tokens of :func:`ptm_lib.data.text.tokenize`
joined by spaces), like the pretraining corpus.

* :func:`ptm_lib.data.text.bbc_topics` -- *classification*: the topic (business,
  entertainment, politics, sports, tech) of a BBC article (in :mod:`ptm_lib.data.text`,
  since chapter 4's probes use it too);
* :func:`paraphrase_pairs` -- *similarity* (like MRPC or QQP): do two verses say the
  same thing?  The pairs come from two English Bibles (:mod:`ptm_lib.data.bible`);
* :func:`next_sentence_choices` -- *multiple choice* (like the Story Cloze Test): which
  of four sentences comes next in a BBC article?  Built from the *held-out* BBC articles
  (``bbc_split()["test"]``), which are kept out of the pretraining corpus, so the model
  never saw the right answer during pretraining.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from . import text
from .bible import Verse, normalise
from .text import bbc_sentences, check_count


@dataclass(frozen=True)
class Pair:
    """Two texts and whether they mean the same (``label`` 1) or not (0)."""

    a: str
    b: str
    label: int


@dataclass(frozen=True)
class Choice:
    """A context, candidate continuations, and the index of the right one."""

    context: str
    choices: tuple[str, ...]
    answer: int


# ---------------------------------------------------------------------------- paraphrases


def paraphrase_pairs(verses: Sequence[Verse], n: int, seed: int = 0,
                     window: int = 20) -> list[Pair]:
    """``n`` verse pairs, half paraphrases (label 1) and half not (label 0), shuffled.

    Each pair starts from a different KJV verse ``a``.  A positive pairs it with the WEB
    rendering of the *same* verse; a negative with the WEB rendering of a *different*
    verse of similar length: one of the ``window`` verses on either side of the true
    rendering when all WEB verses are sorted by word count.  Without that, length alone
    would give the answer away (a 5-word KJV verse paired with a 60-word WEB verse is
    obviously not a paraphrase) and the model could score well without reading.  A
    negative never uses a WEB text identical to the true rendering (refrains such as
    Psalm 136's "for his loving kindness endures forever" repeat).  ``n`` must be even.
    """
    if n % 2:
        raise ValueError(f"n must be even so that positives and negatives balance, got {n}")
    check_count("n", n, len(verses), "verses")
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    rng = random.Random(seed)
    kjv = [normalise(v.kjv) for v in verses]
    web = [normalise(v.web) for v in verses]
    by_length = sorted(range(len(verses)), key=lambda i: (len(web[i].split()), i))
    rank = {i: r for r, i in enumerate(by_length)}
    anchors = rng.sample(range(len(verses)), n)
    pairs = [Pair(kjv[i], web[i], 1) for i in anchors[: n // 2]]
    for i in anchors[n // 2:]:
        j = _similar_length_other(i, rank, by_length, web, window, rng)
        pairs.append(Pair(kjv[i], web[j], 0))
    rng.shuffle(pairs)
    return pairs


def _similar_length_other(i: int, rank: dict[int, int], by_length: list[int],
                          web: list[str], window: int, rng: random.Random) -> int:
    """A verse near ``i`` in length order whose WEB text differs from ``i``'s."""
    r = rank[i]
    lo, hi = max(0, r - window), min(len(by_length), r + window + 1)
    candidates = [j for j in by_length[lo:hi] if web[j] != web[i]]
    if not candidates:  # every neighbour repeats verse i: look at all verses
        candidates = [j for j in by_length if web[j] != web[i]]
    if not candidates:
        raise ValueError("every verse has the same WEB text; no negative pair can be made")
    return rng.choice(candidates)


# ---------------------------------------------------------------------------- multiple choice


def held_out_bbc_articles() -> list[tuple[str, str]]:
    """``(topic, raw text)`` of the 444 BBC test articles (:func:`ptm_lib.data.text.held_out_articles`):
    the articles never used for pretraining, from which :func:`next_sentence_choices`
    builds its questions."""
    return [(topic, raw) for topic, _, raw in text.held_out_articles()]


def next_sentence_choices(docs: Sequence[tuple[str, str]], n: int, n_choices: int = 4,
                          seed: int = 0, min_words: int = 5) -> list[Choice]:
    """``n`` story-cloze-like questions: which candidate sentence follows the context?

    ``docs`` are ``(topic, raw article text)`` pairs, normally
    :func:`held_out_bbc_articles` (the BBC test split, never seen in pretraining).  For a
    question, the context is one or two consecutive sentences of an article (chosen at
    random); the right choice is the sentence that follows; the ``n_choices - 1`` wrong
    ones are sentences of *other* articles of the same topic (of any topic when the topic
    has too few), so that the topic alone does not reveal the answer.  Every sentence
    used has at least ``min_words`` words.  A distractor never repeats a sentence of the
    question's own article (the BBC set holds a few duplicated articles).  The answer's
    position is uniform over ``0..n_choices-1``.
    """
    if n_choices < 2:
        raise ValueError(f"n_choices must be >= 2 (an answer and a distractor), got {n_choices}")
    articles = [(topic, bbc_sentences(raw)) for topic, raw in docs]
    long_enough = [[len(s.split()) >= min_words for s in sents] for _, sents in articles]
    questions = [(d, j) for d, (_, sents) in enumerate(articles) for j in range(1, len(sents))
                 if long_enough[d][j] and long_enough[d][j - 1]]
    check_count("n", n, len(questions),
                 f"questions (a sentence of {min_words}+ words right after another)")
    pools = _distractor_pools(articles, long_enough)
    rng = random.Random(seed)
    out = []
    for d, j in rng.sample(questions, n):
        topic, sents = articles[d]
        k = 2 if j >= 2 and long_enough[d][j - 2] and rng.random() < 0.5 else 1
        wrong = _distractors(d, set(sents), pools, topic, n_choices - 1, rng)
        answer = rng.randrange(n_choices)
        choices = wrong[:answer] + [sents[j]] + wrong[answer:]
        out.append(Choice(" ".join(sents[j - k:j]), tuple(choices), answer))
    return out


def _distractor_pools(articles, long_enough) -> dict[str | None, list[tuple[int, str]]]:
    """``{topic: [(article, sentence), ...]}`` of usable sentences, and ``None``: all."""
    pools: dict[str | None, list[tuple[int, str]]] = {None: []}
    for d, (topic, sents) in enumerate(articles):
        usable = [(d, s) for s, ok in zip(sents, long_enough[d]) if ok]
        pools.setdefault(topic, []).extend(usable)
        pools[None].extend(usable)
    return pools


def _distractors(d: int, own: set[str], pools, topic: str, k: int,
                 rng: random.Random) -> list[str]:
    """``k`` distinct sentences from articles other than ``d``, none in ``own``."""
    for pool in (pools[topic], pools[None]):
        allowed = [s for e, s in pool if e != d and s not in own]
        distinct = list(dict.fromkeys(allowed))
        if len(distinct) >= k:
            return rng.sample(distinct, k)
    raise ValueError(f"only {len(distinct)} sentences from other articles can serve as "
                     f"distractors, fewer than the {k} needed; lower n_choices or add articles")


__all__ = ["Pair", "Choice", "paraphrase_pairs", "held_out_bbc_articles", "next_sentence_choices"]
