"""A span-extraction task for BERT (chapter 7): cloze questions on held-out BBC news.

BERT's fourth family of tasks (Devlin et al. 2019, section 4.2) is *span extraction*: in
SQuAD the input is a question and a paragraph, packed as ``[CLS] question [SEP] paragraph
[SEP]``, and the answer is a span of the paragraph. The model scores every token as the
start (``S . T_i``) and the end (``E . T_j``) of the answer and predicts the span ``i <= j``
with the highest ``S . T_i + E . T_j`` (:class:`ptm_lib.models.bert.BertForSpanExtraction`).

No pip package ships an extractive QA set, so this module builds one the way Hermann et
al. (2015, "Teaching Machines to Read and Comprehend", section 2) built CNN/Daily Mail:
as a *cloze* test. From one sentence of an article we cut out a name or a number and the
model must find it in the nearby sentences::

    question: "Growth in @placeholder remains at a breakneck 9.1%, and corporate investment ..."
    context:  "The curbs were introduced earlier this year ... Rapid tooling-up of China's
               manufacturing sector means a massive demand for energy ..."
    answer:   "China"  (its first mention in the context, at character ``start``)

* the **question** is one sentence of an article with the answer phrase replaced by
  :data:`PLACEHOLDER`;
* the **context** is the ``window`` sentences before and after it in the same article,
  *without the question sentence*, so the answer must be found by matching the question
  against a *different* mention of the phrase;
* the **answer** is a :func:`candidate_phrases` of the question sentence: a run of
  capitalised words ("Tony Blair", "Manchester United") or a number ("2004", "6.58bn"),
  that occurs again in the context. The sentence's first word never counts (every
  sentence starts with a capital), nor do capitalised function words ("The", "But").

The articles are the 444 held-out BBC articles (:func:`ptm_lib.data.tasks.held_out_bbc_articles`),
never seen in pretraining, split into train/dev/test *by article* (:func:`held_out_cloze_spans`).
:func:`encode_spans` turns the examples into BERT's packed input with the answer's token
positions; :func:`exact_match` and :func:`token_f1` score predictions as SQuAD does, and
:func:`most_frequent_candidate` is the trivial baseline a model has to beat.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .batches import pad_rows
from .tasks import held_out_bbc_articles
from .text import split_sentences

PLACEHOLDER = "@placeholder"
"""The marker that replaces the answer in the question (Hermann et al. 2015)."""
SPLITS = ("train", "dev", "test")
MIN_QUESTION_WORDS = 5  # shorter sentences ("He said no.") leave nothing to match

# Capitalised words that start sentences or quotes rather than name something; a phrase
# loses them at either end ("But Microsoft" -> "Microsoft") and is dropped if nothing is left.
FUNCTION_WORDS = frozenset(
    "the a an and but or nor if so as at by for from in into of on to with without after before when while "
    "where what which who whom whose how why this that these those there here it its he she they we i you "
    "his her their our my your me him them us is are was were be been being has have had do does did will "
    "would can could should might must not no yes all some many most more one also just now then than yet "
    "still even however meanwhile although though because since until despite during under over about "
    "against between through both each every other another such only very much few last next new first "
    "according instead".split())
# A word boundary that also keeps numbers whole: "5" is not a phrase inside "3.5" or "5,000".
_BEFORE, _AFTER = r"(?<![\w.,-])", r"(?![\w]|[.,]\w)"
_CAPITALISED = r"[A-Z][A-Za-z]*(?:['\u2019-][A-Z][A-Za-z]*)*"  # "Blair", "O'Neill", "Coca-Cola"
_NUMBER = r"[$\u00a3\u20ac\u00a5]?\d+(?:[.,]\d+)*[A-Za-z]*"  # "2004", "59.2", "5,000", "£6.5bn", "1990s"
_PHRASE = re.compile(rf"{_BEFORE}(?:(?P<number>{_NUMBER})|(?P<name>{_CAPITALISED}(?: {_CAPITALISED})*)){_AFTER}")
_FIRST_WORD = re.compile(r"[\w$\u00a3\u20ac\u00a5]")  # where the first word (or number) starts


@dataclass(frozen=True)
class ClozeSpan:
    """One cloze question: ``question`` holds :data:`PLACEHOLDER` where ``answer`` was cut
    out; ``context[start:start + len(answer)] == answer`` is the answer's first mention in
    the context; ``article`` is the index of the article it came from."""

    question: str
    context: str
    answer: str
    start: int
    article: int

    @property
    def end(self) -> int:
        """One past the answer's last character in ``context``."""
        return self.start + len(self.answer)


# ---------------------------------------------------------------------------- phrases


def _mention(phrase: str) -> re.Pattern:
    """A pattern for ``phrase`` as whole words (not "Blair" in "Blairite", not "5" in "3.5")."""
    return re.compile(_BEFORE + re.escape(phrase) + _AFTER)


def _trim_function_words(phrase: str) -> tuple[str, int]:
    """``phrase`` without capitalised function words at either end, and how many
    characters were cut from its front."""
    words = phrase.split(" ")
    cut = 0
    while words and words[0].lower() in FUNCTION_WORDS:
        cut += len(words.pop(0)) + 1
    while words and words[-1].lower() in FUNCTION_WORDS:
        words.pop()
    return " ".join(words), cut


def candidate_phrases(sentence: str) -> list[tuple[str, int]]:
    """The answer candidates of one sentence as ``(phrase, character offset)``, in order.

    A candidate is a maximal run of capitalised words or a number (with its currency sign
    and unit: "£500m", since BERT's tokenizer keeps "£" in the word), as whole words. A number
    that is the sentence's first word is skipped, and a run that starts there loses that
    word ("The Tokyo stock market" -> "Tokyo"), since every sentence starts with a capital;
    capitalised function words are trimmed from both ends of a run; one-letter phrases
    (initials such as "J") are dropped.
    """
    first = _FIRST_WORD.search(sentence)
    first_at = first.start() if first else -1
    found = []
    for match in _PHRASE.finditer(sentence):
        phrase, at = match.group(), match.start()
        if match.group("name"):
            if at == first_at:
                head, _, phrase = phrase.partition(" ")
                at += len(head) + 1
            phrase, cut = _trim_function_words(phrase)
            at += cut
        elif at == first_at:
            continue
        if len(phrase) > 1:
            found.append((phrase, at))
    return found


def most_frequent_candidate(context: str, question: str = "") -> str:
    """The trivial baseline: of the :func:`candidate_phrases` of the context's sentences that
    the ``question`` does not mention (the answer never is), the one mentioned most often
    in the context, ties going to the earliest; ``""`` if there is none."""
    phrases = [p for s in split_sentences(context) for p, _ in candidate_phrases(s)
               if not _mention(p).search(question)]
    if not phrases:
        return ""
    mentions = {p: len(_mention(p).findall(context)) for p in phrases}
    return max(phrases, key=lambda p: (mentions[p], -phrases.index(p)))


# ---------------------------------------------------------------------------- questions


def article_sentences(article: str, has_headline: bool = True) -> list[str]:
    """The sentences of a raw article, each line split by :func:`split_sentences`; the first
    line is dropped when ``has_headline`` (a BBC headline summarises the story: no sentence)."""
    lines = [line.strip() for line in article.strip().splitlines() if line.strip()]
    return [s for line in lines[1 if has_headline else 0:] for s in split_sentences(line)]


def _questions_of_sentence(sentences: list[str], i: int, window: int, article: int) -> list[ClozeSpan]:
    """Every valid cloze question that sentence ``i`` gives, one per candidate phrase."""
    sentence = sentences[i]
    if len(sentence.split()) < MIN_QUESTION_WORDS:
        return []
    context = " ".join(sentences[max(0, i - window):i] + sentences[i + 1:i + 1 + window])
    questions = []
    for phrase, at in candidate_phrases(sentence):
        question = sentence[:at] + PLACEHOLDER + sentence[at + len(phrase):]
        mention = _mention(phrase).search(context)
        if mention is None or phrase in question:  # not in the context, or twice in the sentence
            continue
        questions.append(ClozeSpan(question, context, phrase, mention.start(), article))
    return questions


def cloze_spans(articles: Sequence[str], window: int = 2, seed: int = 0, max_per_article: int | None = None,
                has_headline: bool = True) -> list[ClozeSpan]:
    """Cloze questions from raw ``articles`` (strings, first line the headline), in article order.

    Each sentence of at least :data:`MIN_QUESTION_WORDS` words gives at most one question:
    one of its candidates that recur in the context (the ``window`` sentences before and
    after), picked at random. ``max_per_article`` keeps a random subset of an article's
    questions (in sentence order). Deterministic given ``seed``; an article's questions depend
    on its text and its index in ``articles``, never on the other articles.
    """
    if isinstance(articles, str) or not all(isinstance(a, str) for a in articles):
        raise ValueError("articles must be a list of raw article texts (str); for held_out_bbc_articles(), "
                         "which gives (topic, text) pairs, pass [text for _, text in held_out_bbc_articles()].")
    if not isinstance(window, int) or window < 1:
        raise ValueError(f"window must be a positive number of sentences on each side, got {window!r}")
    if max_per_article is not None and (not isinstance(max_per_article, int) or max_per_article < 1):
        raise ValueError(f"max_per_article must be a positive integer or None (no limit), got {max_per_article!r}")
    spans = []
    for a, article in enumerate(articles):
        rng = random.Random(f"{seed}:{a}")
        sentences = article_sentences(article, has_headline)
        chosen = []
        for i in range(len(sentences)):
            options = _questions_of_sentence(sentences, i, window, a)
            if options:
                chosen.append(rng.choice(options))
        if max_per_article is not None and len(chosen) > max_per_article:
            keep = sorted(rng.sample(range(len(chosen)), max_per_article))
            chosen = [chosen[k] for k in keep]
        spans += chosen
    return spans


def split_articles(articles: Sequence[str], fractions: Sequence[float] = (0.8, 0.1, 0.1),
                   seed: int = 0) -> dict[str, list[int]]:
    """``{"train", "dev", "test"}`` lists of article indices, ``fractions`` of the articles
    each, shuffled by ``seed``. Copies of the same text (the BBC set repeats a few stories)
    always land in the same split, so no test story was seen in training."""
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"fractions must be three non-negative numbers (train, dev, test) summing to 1, "
                         f"got {tuple(fractions)}")
    texts = sorted({a.strip() for a in articles})
    random.Random(seed).shuffle(texts)
    n_train, n_dev = round(fractions[0] * len(texts)), round(fractions[1] * len(texts))
    split_of = {t: "train" for t in texts[:n_train]}
    split_of.update({t: "dev" for t in texts[n_train:n_train + n_dev]})
    split_of.update({t: "test" for t in texts[n_train + n_dev:]})
    out: dict[str, list[int]] = {s: [] for s in SPLITS}
    for i, article in enumerate(articles):
        out[split_of[article.strip()]].append(i)
    return out


def held_out_cloze_spans(window: int = 2, seed: int = 0, max_per_article: int | None = None,
                        fractions: Sequence[float] = (0.8, 0.1, 0.1)) -> dict[str, list[ClozeSpan]]:
    """The chapter's data set: :func:`cloze_spans` of the 444 held-out BBC articles
    (never used for pretraining), split by article with :func:`split_articles`.
    ``ClozeSpan.article`` indexes :func:`ptm_lib.data.tasks.held_out_bbc_articles`."""
    articles = [raw for _, raw in held_out_bbc_articles()]
    spans = cloze_spans(articles, window, seed, max_per_article)
    split_of = {i: name for name, indices in split_articles(articles, fractions, seed).items() for i in indices}
    return {name: [s for s in spans if split_of[s.article] == name] for name in SPLITS}


# ---------------------------------------------------------------------------- BERT inputs


def _answer_tokens(offsets: list[tuple[int, int]], start: int, end: int) -> tuple[int, int] | None:
    """Indices of the context tokens whose characters begin at ``start`` and end at ``end``,
    or None when the answer does not begin and end on token boundaries."""
    first = next((k for k, (a, _) in enumerate(offsets) if a == start), None)
    last = next((k for k, (_, b) in enumerate(offsets) if b == end), None)
    if first is None or last is None or last < first:
        return None
    return first, last


def encode_spans(tokenizer, examples: Sequence[ClozeSpan], max_len: int = 128) -> dict[str, torch.Tensor]:
    """Pack each example as ``[CLS] question [SEP] context [SEP]`` for BERT (section 4.2).

    ``tokenizer`` is a :class:`ptm_lib.data.wordpiece.WordPieceTokenizer`. Only the context
    is truncated, from its end, so that a packed example has at most ``max_len`` tokens
    (the "only_second" strategy). An example is *dropped* when its answer is cut off by the
    truncation (or when its question leaves no room for the context, or, rarely, when the
    answer does not start and end on token boundaries). Returns, for the ``N`` kept examples:

    * ``ids``, ``segments`` (0 for ``[CLS] question [SEP]``, 1 after), ``attention_mask``
      (1 for tokens, 0 for padding): ``(N, T)`` long, right-padded with ``[PAD]`` to the
      longest kept example, ``T <= max_len``;
    * ``start``, ``end``: ``(N,)`` long, the positions of the answer's first and last piece
      in the packed sequence, the targets of :func:`ptm_lib.models.bert.span_loss`;
    * ``kept``: ``(N,)`` long, the index in ``examples`` of each row.
    """
    if max_len < 5:
        raise ValueError(f"max_len must be at least 5 ([CLS] q [SEP] c [SEP]), got {max_len}")
    rows, starts, ends, kept = [], [], [], []
    for n, example in enumerate(examples):
        if not isinstance(example, ClozeSpan):
            raise ValueError(f"examples must be ClozeSpan objects (from cloze_spans), got {type(example).__name__}")
        question = tokenizer.backend.encode(example.question, add_special_tokens=False)
        context = tokenizer.backend.encode(example.context, add_special_tokens=False)
        room = max_len - len(question.ids) - 3  # context tokens that fit
        answer = _answer_tokens(context.offsets, example.start, example.end)
        if answer is None or answer[1] >= room:
            continue
        offset = len(question.ids) + 2  # [CLS] question [SEP]
        rows.append(([tokenizer.cls_id] + question.ids + [tokenizer.sep_id], context.ids[:room] + [tokenizer.sep_id]))
        starts.append(offset + answer[0])
        ends.append(offset + answer[1])
        kept.append(n)
    if not rows:
        raise ValueError(f"no example kept its answer within max_len={max_len} tokens; use a larger max_len "
                         "or a smaller window")
    return {**pad_rows([(a + b, [0] * len(a) + [1] * len(b)) for a, b in rows], tokenizer.pad_id),
            "start": torch.tensor(starts), "end": torch.tensor(ends), "kept": torch.tensor(kept)}


def span_text(tokenizer, ids_row: torch.Tensor | Sequence[int], start: int, end: int) -> str:
    """The text of tokens ``start..end`` (inclusive) of one packed row, e.g. a prediction of
    :func:`ptm_lib.models.bert.best_span`. It is the tokenizer's decoding (lowercased by an
    uncased vocabulary, "6. 58bn" for "6.58bn"), which :func:`normalise_answer` evens out."""
    ids = [int(i) for i in ids_row]
    start, end = int(start), int(end)
    if not 0 <= start <= end < len(ids):
        raise ValueError(f"need 0 <= start <= end < {len(ids)} (the row length), got start={start}, end={end}")
    return tokenizer.decode(ids[start:end + 1])


# ---------------------------------------------------------------------------- scores

_ARTICLES = frozenset({"a", "an", "the"})


def normalise_answer(text: str) -> list[str]:
    """SQuAD's answer normalisation (Rajpurkar et al. 2016's evaluation script), as words:
    lowercase, strip accents, drop punctuation and the articles a/an/the. Punctuation
    becomes a space rather than vanishing, so "6.58bn" and the decoded "6. 58bn" agree."""
    text = "".join(c for c in unicodedata.normalize("NFD", text.lower()) if unicodedata.category(c) != "Mn")
    text = "".join(" " if unicodedata.category(c).startswith(("P", "S")) else c for c in text)
    return [w for w in text.split() if w not in _ARTICLES]


def exact_match(pred: str, gold: str) -> float:
    """1.0 if ``pred`` and ``gold`` are equal after :func:`normalise_answer`, else 0.0."""
    return float(normalise_answer(pred) == normalise_answer(gold))


def token_f1(pred: str, gold: str) -> float:
    """SQuAD's F1: the harmonic mean of the precision and recall of the words ``pred`` and
    ``gold`` share (as multisets, after :func:`normalise_answer`); 1.0 if both are empty."""
    p, g = normalise_answer(pred), normalise_answer(gold)
    if not p or not g:
        return float(p == g)
    common = sum((Counter(p) & Counter(g)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


__all__ = ["PLACEHOLDER", "SPLITS", "ClozeSpan", "candidate_phrases", "most_frequent_candidate",
           "article_sentences", "cloze_spans", "split_articles", "held_out_cloze_spans", "encode_spans",
           "span_text", "normalise_answer", "exact_match", "token_f1"]
