"""Labelled tasks for fine-tuning GPT (chapter 6), as plain Python data.

Radford et al. (2018, section 3.3 and figure 1) fine-tune one pretrained Transformer on
very different tasks by turning each input into a single token sequence: a text for
classification, two texts joined by a delimiter for entailment or similarity, a context
and each candidate ending for multiple choice.  This module builds one task of each
shape from the book's own corpora, as strings and labels; ``ptm_lib.models.gpt_tasks``
adds the special tokens.  Everything is deterministic given ``seed``, and all text is in
the book's normalised form (lowercase tokens of :func:`ptm_lib.data.text.tokenize`
joined by spaces), like the pretraining corpus.

* :func:`bbc_topics` -- *classification*: the topic (business, entertainment, politics,
  sports, tech) of a BBC article;
* :func:`paraphrase_pairs` -- *similarity* (like MRPC or QQP): do two verses say the
  same thing?  The pairs come from two English Bibles (:mod:`ptm_lib.data.bible`);
* :func:`next_sentence_choices` -- *multiple choice* (like the Story Cloze Test): which
  of four sentences comes next in a BBC article?  Built from the *held-out* BBC articles
  (``bbc_split()["test"]``), which are kept out of the pretraining corpus, so the model
  never saw the right answer during pretraining.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from . import text
from .bible import Verse, normalise


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


def _check_count(name: str, n: int, available: int, what: str) -> None:
    if n < 1:
        raise ValueError(f"{name} must be a positive number of examples, got {n}")
    if n > available:
        raise ValueError(f"{name}={n} is more than the {available:,} {what} available; "
                         f"ask for at most {available:,}")


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
    _check_count("n", n, len(verses), "verses")
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


# ---------------------------------------------------------------------------- sentences

_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st mt ft sr jr rev gen col lt capt sgt cpl gov sen pres supt insp "
    "det vs etc eg ie inc ltd co corp dept approx fig jan feb mar apr jun jul aug sep sept "
    "oct nov dec".split())  # not "no": "he said no." ends a sentence
# a sentence may end at . ! or ? (plus closing quotes/brackets) before a space and a
# capital letter, digit or opening quote
_SENTENCE_END = re.compile(r"[.!?]+[\"'\u2019\u201d)\]]*(?=\s+[\"'\u2018\u201c(\[]*[A-Z0-9])")
_LAST_WORD = re.compile(r"([A-Za-z.]+)\.$")


def _is_abbreviation(before: str) -> bool:
    """Whether the text ``before`` a full stop ends in an abbreviation or an initial."""
    match = _LAST_WORD.search(before + ".")
    if not match:
        return False
    word = match.group(1)
    return (word.lower().rstrip(".") in _ABBREVIATIONS
            or (len(word) == 1 and word.isupper())      # an initial: "J. K. Rowling"
            or "." in word)                              # "U.S.", "e.g."


def split_sentences(paragraph: str) -> list[str]:
    """Split raw English text into sentences (kept as written).

    A sentence ends at ``.``, ``!`` or ``?`` (and any closing quotes) followed by a space
    and a capital letter, digit or opening quote, unless the full stop ends an
    abbreviation (``Mr.``, ``Dr.``, ``Jan.``), an initial (``J.``) or a dotted
    abbreviation (``U.S.``).  Numbers such as ``3.5`` never split, having no space.
    """
    sentences, start = [], 0
    for match in _SENTENCE_END.finditer(paragraph):
        mark = match.group()
        if mark.startswith(".") and len(mark.rstrip("\"'\u2019\u201d)]")) == 1 \
                and _is_abbreviation(paragraph[start:match.start()]):
            continue
        sentences.append(paragraph[start:match.end()].strip())
        start = match.end()
    sentences.append(paragraph[start:].strip())
    return [s for s in sentences if s]


def sentences(raw_text: str) -> list[str]:
    """The normalised sentences of raw English text: each line (a paragraph) is split by
    :func:`split_sentences`, each sentence lowercased and tokenised
    (:func:`ptm_lib.data.text.tokenize`), words joined by spaces; sentences with no word
    left are dropped."""
    found = [" ".join(text.tokenize(s)) for line in raw_text.splitlines() if line.strip()
             for s in split_sentences(line.strip())]
    return [s for s in found if s]


def bbc_sentences(article_text: str, include_headline: bool = False) -> list[str]:
    """:func:`sentences` of a raw BBC article (as from ``text.load_bbc()``), whose first
    line is the headline (no full stop): dropped unless ``include_headline``."""
    lines = article_text.strip().splitlines()
    return sentences("\n".join(lines if include_headline else lines[1:]))


# ---------------------------------------------------------------------------- multiple choice


def held_out_bbc_articles() -> list[tuple[str, str]]:
    """``(topic, raw text)`` of the 444 BBC test articles of ``text.bbc_split()``: the
    articles never used for pretraining, from which :func:`next_sentence_choices` builds
    its questions."""
    docs = text.load_bbc()
    return [(docs[i][0], docs[i][2]) for i in text.bbc_split()["test"]]


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
    _check_count("n", n, len(questions),
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


# ---------------------------------------------------------------------------- topics


def bbc_topics(split: str, per_class: int | None = None,
               seed: int = 0) -> tuple[list[str], list[int], list[str]]:
    """BBC topic classification: ``(texts, labels, label_names)`` for ``split``.

    ``split`` is ``"train"`` or ``"test"`` of :func:`ptm_lib.data.text.bbc_split` (the
    train articles are also in the pretraining corpus, without their labels; the test
    ones never are).  Texts are whole articles, headline included, normalised; labels
    index ``label_names`` (the topics, sorted).  ``per_class`` keeps that many articles
    of each topic, drawn at random with ``seed``.  Order: as in ``text.load_bbc()``.
    """
    splits = text.bbc_split()
    if split not in splits:
        raise ValueError(f"split must be one of {sorted(splits)}, got {split!r}")
    docs, tokens = text.load_bbc(), text.load_bbc_tokens()
    indices = splits[split]
    label_names = sorted({docs[i][0] for i in indices})
    if per_class is not None:
        indices = _per_class(indices, [docs[i][0] for i in indices], per_class, seed)
    texts = [" ".join(tokens[i]) for i in indices]
    labels = [label_names.index(docs[i][0]) for i in indices]
    return texts, labels, label_names


def _per_class(indices: list[int], topics: list[str], per_class: int, seed: int) -> list[int]:
    """``per_class`` random indices of each topic, returned in their original order."""
    rng = random.Random(seed)
    kept = []
    for topic in sorted(set(topics)):
        members = [i for i, t in zip(indices, topics) if t == topic]
        _check_count("per_class", per_class, len(members), f"{topic!r} articles")
        kept += rng.sample(members, per_class)
    return sorted(kept)
