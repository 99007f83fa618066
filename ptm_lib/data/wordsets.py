"""Word-vector benchmarks and real GloVe vectors (chapter 3).

* :func:`load_analogies` -- Google's 19,544 analogy questions ``a : b :: c : d`` in 14
  sections (5 semantic, 9 syntactic) (Mikolov et al., 2013);
* :func:`load_wordsim353`, :func:`load_simlex999` -- word pairs with human similarity
  ratings; WordSim-353 rates relatedness (``cup``/``coffee`` score high), SimLex-999
  strict similarity (``old``/``new`` score low);
* :func:`load_glove_50d` -- Stanford's GloVe 6B 50-d vectors, 400k words in frequency
  order (Pennington et al., 2014).

Everything is lowercased, like the book's corpora.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import sources
from .vocab import OutOfVocabularyError


@dataclass(frozen=True)
class Analogy:
    """One analogy question ``a : b :: c : d`` (lowercased), e.g. athens : greece ::
    baghdad : iraq, from section ``section`` (e.g. ``"capital-common-countries"``)."""

    section: str
    a: str
    b: str
    c: str
    d: str

    @property
    def semantic(self) -> bool:
        """True for the 5 semantic sections, False for the ``gram*`` (syntactic) ones."""
        return not self.section.startswith("gram")


def parse_analogies(text: str) -> list[Analogy]:
    """Parse ``questions-words.txt``: ``: section`` lines, then 4 words per line."""
    out, section = [], None
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(":"):
            section = line[1:].strip()
            continue
        words = line.lower().split()
        if len(words) != 4 or section is None:
            raise ValueError(f"analogy line {number} is not 4 words after a ': section' "
                             f"line: {line!r}")
        out.append(Analogy(section, *words))
    return out


def parse_similarity(text: str) -> list[tuple[str, str, float]]:
    """Parse a word-pair rating file: ``word1<TAB>word2<TAB>score`` lines; ``#`` lines
    are comments, and a header line whose score is not a number is skipped."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        if len(fields) < 3:
            raise ValueError(f"similarity line {number} has fewer than 3 fields: {line!r}")
        try:
            score = float(fields[2])
        except ValueError:
            if out:
                raise ValueError(f"similarity line {number} has no numeric score: "
                                 f"{line!r}") from None
            continue  # a header line such as "Word 1  Word 2  Human (mean)"
        out.append((fields[0].strip().lower(), fields[1].strip().lower(), score))
    return out


def _read(key: str) -> str:
    return Path(sources.path("word_benchmarks", key)).read_text(encoding="utf-8")


def load_analogies() -> list[Analogy]:
    """The 19,544 Google analogy questions, in file order."""
    return parse_analogies(_read("analogies"))


def load_wordsim353() -> list[tuple[str, str, float]]:
    """The 353 WordSim-353 pairs ``(w1, w2, mean rating in [0, 10])``."""
    return parse_similarity(_read("wordsim353"))


def load_simlex999() -> list[tuple[str, str, float]]:
    """The 999 SimLex-999 pairs ``(w1, w2, mean rating in [0, 10])``."""
    return parse_similarity(_read("simlex999"))


class GloVeVectors:
    """Published GloVe word vectors: ``words`` (frequency order), ``vectors`` (float32,
    one row per word) and ``stoi`` (word -> row). (The model that learns such vectors is
    :class:`ptm_lib.models.glove.GloVe`.)"""

    def __init__(self, words: list[str], vectors: np.ndarray):
        if len(words) != len(vectors):
            raise ValueError(f"{len(words)} words but {len(vectors)} vectors")
        self.words = list(words)
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.stoi = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self.stoi

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def index(self, word: str) -> int:
        """The row of ``word``; :class:`OutOfVocabularyError` when it is missing."""
        try:
            return self.stoi[word]
        except KeyError:
            raise OutOfVocabularyError(
                f"{word!r} is not among the {len(self):,} GloVe words. GloVe is "
                "lowercased: check the spelling and case, or load more words with "
                "load_glove_50d(max_words=...) (None loads all 400,000)."
            ) from None

    def vector(self, word: str) -> np.ndarray:
        """The vector of ``word`` (a read-only view)."""
        row = self.vectors[self.index(word)]
        row.flags.writeable = False
        return row

    def __repr__(self) -> str:
        return f"GloVeVectors({len(self):,} words x {self.dim})"


@functools.lru_cache(maxsize=None)
def _glove_words() -> tuple[str, ...]:
    import pyarrow.parquet as pq  # imported here: only GloVe needs it

    table = pq.read_table(sources.path("glove_6b_50d", "index"))
    column = "index" if "index" in table.column_names else table.column_names[0]
    return tuple(table.column(column).to_pylist())


def load_glove_50d(max_words: int | None = None) -> GloVeVectors:
    """GloVe 6B 50-d: the ``max_words`` most frequent words (all 400,000 if None).

    The vectors are memory-mapped and only the first ``max_words`` rows are copied, so a
    small ``max_words`` keeps memory small (50k words: 10 MB).
    """
    if max_words is not None and max_words < 1:
        raise ValueError(f"max_words must be a positive int or None, got {max_words}")
    words = _glove_words()
    vectors = np.load(sources.path("glove_6b_50d", "vectors"), mmap_mode="r")
    if len(words) != len(vectors):
        raise ValueError(f"GloVe index has {len(words)} words but the vector file "
                         f"{len(vectors)} rows")
    n = len(words) if max_words is None else min(max_words, len(words))
    return GloVeVectors(list(words[:n]), np.array(vectors[:n], dtype=np.float32))


def clear_cache() -> None:
    """Forget the cached GloVe word list."""
    _glove_words.cache_clear()


__all__ = ["Analogy", "parse_analogies", "parse_similarity", "load_analogies", "load_wordsim353", "load_simlex999",
           "GloVeVectors", "load_glove_50d", "clear_cache"]
