"""Word-in-Context pairs from WordNet: does a word mean the same thing in two sentences?

Chapter 4 asks whether ELMo's vectors tell word *senses* apart, which a static embedding
(word2vec, GloVe) cannot: "bank" gets one vector whether it holds money or a river.
Pilehvar & Camacho-Collados (2019) turned the question into a binary task, WiC: given a
target word and two sentences that contain it, label 1 if the word has the same meaning
in both, 0 if not. They built it from the example sentences of WordNet (Miller 1995,
Fellbaum 1998), VerbNet and Wiktionary; this module rebuilds the WordNet part.

WordNet groups words into *synsets*, one per meaning. Each line of the data files
``data.noun``, ``data.verb``, ``data.adj``, ``data.adv`` is one synset::

    09213565 17 n 02 bank 0 ... | sloping land (especially ...); "they pulled the canoe up on the bank"

offset, lexicographer file, type, the word count in hex, the words (with a lex id each),
pointers, then ``|`` and the *gloss*: a definition followed by quoted example sentences.
Here:

1. :func:`parse_synsets` reads the synsets (lemmas, definition, examples);
2. :func:`find_target` locates a lemma in an example, by WordNet's own morphology
   (its exception lists, e.g. ``went -> go``, and detachment rules, e.g. ``-ies -> -y``),
   so "banks" counts for "bank"; an example where the lemma cannot be found is dropped;
3. :func:`build_pairs` pairs the examples of each word: same synset -> 1, different
   synsets -> 0, equally many of each per word (so the word alone predicts nothing),
   never a sentence with itself, deterministic by seed;
4. :func:`split_by_word` splits train/dev/test by target word, so a test word was never
   seen in training (as WiC does).

Tokens are :func:`ptm_lib.data.text.tokenize`'s: lowercased, punctuation dropped, so the
sentences look like the pretraining corpus. Only single-word lemmas are targets.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import sources
from .text import tokenize

POS_FILES = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}  # WordNet's part-of-speech letters
SPLITS = ("train", "dev", "test")
# WordNet's morphy detachment rules: (suffix, replacement), per part of speech.
DETACHMENT = {
    "n": (("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"),
          ("men", "man"), ("ies", "y")),
    "v": (("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", "")),
    "a": (("er", ""), ("est", ""), ("er", "e"), ("est", "e")),
    "r": (),
}
_QUOTED = re.compile(r'"([^"]*)"')
_MARKER = re.compile(r"\((?:a|p|ip)\)$")  # adjective position markers, e.g. "galore(ip)"


@dataclass(frozen=True)
class Synset:
    """One WordNet meaning: ``id`` like ``"09213565-n"``, ``pos`` in ``n v a r`` (satellite
    adjectives ``s`` count as ``a``), lowercased ``lemmas`` (multiword ones keep their ``_``),
    the ``definition`` and the quoted ``examples`` of its gloss."""

    id: str
    pos: str
    lemmas: tuple[str, ...]
    definition: str
    examples: tuple[str, ...]


@dataclass(frozen=True)
class Example:
    """An example sentence of a synset that contains one of its lemmas at token ``position``."""

    lemma: str
    pos: str
    synset: str
    tokens: tuple[str, ...]
    position: int


@dataclass(frozen=True)
class WiCPair:
    """A WiC item: target ``word`` (a lemma) of part of speech ``pos`` at ``position1`` in
    ``tokens1`` and ``position2`` in ``tokens2``; ``label`` 1 if both use the same synset."""

    word: str
    pos: str
    tokens1: tuple[str, ...]
    position1: int
    tokens2: tuple[str, ...]
    position2: int
    label: int
    synset1: str
    synset2: str


# ----------------------------------------------------------------------------- parsing


def parse_synset_line(line: str) -> Synset | None:
    """One line of a WordNet data file -> a :class:`Synset`; ``None`` for the licence header
    (lines starting with a space) and blank lines. A malformed line is a ``ValueError``."""
    line = line.rstrip("\r\n")
    if not line.strip() or line.startswith(" "):
        return None
    head, _, gloss = line.partition(" | ")
    fields = head.split()
    try:
        offset, ss_type, n_words = fields[0], fields[2], int(fields[3], 16)
        words = fields[4 : 4 + 2 * n_words : 2]
    except (IndexError, ValueError):
        raise ValueError(f"Not a WordNet data line: {line[:80]!r}") from None
    if ss_type not in "nvasr" or len(words) != n_words or not offset.isdigit():
        raise ValueError(f"Not a WordNet data line: {line[:80]!r}")
    pos = "a" if ss_type == "s" else ss_type
    lemmas = tuple(_MARKER.sub("", w).lower() for w in words)
    definition = gloss.split('"')[0].strip().rstrip(";").strip()
    examples = tuple(e.strip() for e in _QUOTED.findall(gloss) if e.strip())
    return Synset(f"{offset}-{pos}", pos, lemmas, definition, examples)


def parse_synsets(lines: Iterable[str]) -> list[Synset]:
    """Every synset of a WordNet data file's lines (CRLF or LF line ends)."""
    return [s for s in (parse_synset_line(line) for line in lines) if s is not None]


def parse_exceptions(lines: Iterable[str]) -> dict[str, set[str]]:
    """A WordNet exception list (``noun.exc`` ...): ``inflected base [base ...]`` per line ->
    ``{inflected: {bases}}``."""
    table: dict[str, set[str]] = defaultdict(set)
    for line in lines:
        parts = line.split()
        if len(parts) >= 2:
            table[parts[0].lower()].update(p.lower() for p in parts[1:])
    return dict(table)


def load_wordnet(folder: str | Path | None = None) -> tuple[list[Synset], dict[str, dict[str, set[str]]]]:
    """WordNet 3.0's synsets and exception lists ``{pos: {inflected: {bases}}}``.

    From the data hub's ``wordnet`` source, or from ``folder`` holding ``data.noun`` ...
    and ``noun.exc`` ... (the standard WordNet ``dict/`` layout).
    """
    if folder is None:
        files = sources.fetch("wordnet")
        data = {pos: files[f"data.{name}"] for pos, name in POS_FILES.items()}
        exc = {pos: files[f"{name}.exc"] for pos, name in POS_FILES.items()}
    else:
        folder = Path(folder)
        data = {pos: folder / f"data.{name}" for pos, name in POS_FILES.items()}
        exc = {pos: folder / f"{name}.exc" for pos, name in POS_FILES.items()}
        missing = [str(p) for p in data.values() if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"WordNet data files missing: {missing}; point folder= at WordNet's dict/ "
                                    "folder, or leave it out to use the data hub's 'wordnet' source.")
    synsets = [s for pos in POS_FILES for s in parse_synsets(_read_lines(data[pos]))]
    exceptions = {pos: parse_exceptions(_read_lines(p)) if p.is_file() else {} for pos, p in exc.items()}
    return synsets, exceptions


def _read_lines(path: Path) -> list[str]:
    return Path(path).read_text(encoding="utf-8", errors="replace").splitlines()


# ----------------------------------------------------------------------------- targets


def base_forms(token: str, pos: str, exceptions: dict[str, dict[str, set[str]]] | None = None) -> set[str]:
    """The lemmas ``token`` may be a form of, for part of speech ``pos`` (WordNet's morphy,
    without its dictionary check): the token itself, its exception-list bases, and every
    detachment rule's result, e.g. ``base_forms("ponies", "n") >= {"ponies", "pony", "ponie"}``."""
    if pos not in POS_FILES:
        raise ValueError(f"pos={pos!r}; use one of {tuple(POS_FILES)} (noun, verb, adjective, adverb).")
    forms = {token} | set((exceptions or {}).get(pos, {}).get(token, ()))
    forms |= {token[: -len(suffix)] + repl for suffix, repl in DETACHMENT[pos]
              if token.endswith(suffix) and len(token) > len(suffix)}
    return forms


def find_target(tokens: Sequence[str], lemma: str, pos: str,
                exceptions: dict[str, dict[str, set[str]]] | None = None) -> int | None:
    """The position of the first token that is ``lemma`` or an inflection of it, else ``None``."""
    for i, token in enumerate(tokens):
        if token == lemma or lemma in base_forms(token, pos, exceptions):
            return i
    return None


def examples_with_targets(synsets: Iterable[Synset], exceptions: dict[str, dict[str, set[str]]] | None = None,
                          pos: Sequence[str] = ("n", "v"), min_tokens: int = 3) -> list[Example]:
    """Every (single-word lemma, example sentence) of the synsets of ``pos`` where the lemma
    occurs in the sentence. Sentences shorter than ``min_tokens`` tokens are skipped."""
    unknown = set(pos) - set(POS_FILES)
    if unknown:
        raise ValueError(f"Unknown parts of speech {sorted(unknown)}; use letters from {tuple(POS_FILES)}.")
    out = []
    for synset in synsets:
        if synset.pos not in pos:
            continue
        sentences = [tuple(tokenize(e)) for e in synset.examples]
        for lemma in synset.lemmas:
            if tokenize(lemma) != [lemma]:  # multiword ("river_bank") or punctuated lemmas
                continue
            for tokens in sentences:
                position = find_target(tokens, lemma, synset.pos, exceptions) if len(tokens) >= min_tokens else None
                if position is not None:
                    out.append(Example(lemma, synset.pos, synset.id, tokens, position))
    return out


# ----------------------------------------------------------------------------- pairs and splits


def build_pairs(examples: Iterable[Example], seed: int = 0, max_pairs_per_word: int | None = None) -> list[WiCPair]:
    """Balanced WiC pairs: for each word (lemma and part of speech), ``k`` same-synset pairs
    (label 1) and ``k`` different-synset pairs (label 0), ``k`` = the smaller number
    available (at most ``max_pairs_per_word // 2``). Words lacking either kind give no pairs.

    Two examples with the same tokens are never paired (a sentence with itself, or the
    same sentence filed under two synsets). Deterministic for a given ``seed``.
    """
    if max_pairs_per_word is not None and max_pairs_per_word < 2:
        raise ValueError(f"max_pairs_per_word must be at least 2 (one pair of each label), got {max_pairs_per_word}.")
    by_word: dict[tuple[str, str], list[Example]] = defaultdict(list)
    for ex in examples:
        by_word[ex.lemma, ex.pos].append(ex)
    rng = random.Random(seed)
    pairs = []
    for word in sorted(by_word):
        group = sorted(set(by_word[word]), key=lambda e: (e.synset, e.tokens, e.position))
        same, different = [], []
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                if a.tokens != b.tokens:
                    (same if a.synset == b.synset else different).append((a, b))
        k = min(len(same), len(different))
        if max_pairs_per_word is not None:
            k = min(k, max_pairs_per_word // 2)
        chosen = [(p, 1) for p in rng.sample(same, k)] + [(p, 0) for p in rng.sample(different, k)]
        rng.shuffle(chosen)
        for (a, b), label in chosen:
            a, b = (b, a) if rng.random() < 0.5 else (a, b)
            pairs.append(WiCPair(a.lemma, a.pos, a.tokens, a.position, b.tokens, b.position, label, a.synset, b.synset))
    return pairs


def split_by_word(pairs: Sequence[WiCPair], fractions: Sequence[float] = (0.8, 0.1, 0.1),
                  seed: int = 0) -> dict[str, list[WiCPair]]:
    """``{"train", "dev", "test"}`` lists of pairs, split by target word: every pair of a word
    (as a noun, a verb or any other part of speech) lands in the same split, so no word is
    in two splits. ``fractions`` are of the words."""
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"fractions must be three non-negative numbers (train, dev, test) summing to 1, "
                         f"got {tuple(fractions)}.")
    words = sorted({p.word for p in pairs})
    random.Random(seed).shuffle(words)
    n_train = round(fractions[0] * len(words))
    n_dev = round(fractions[1] * len(words))
    split_of = {w: "train" for w in words[:n_train]}
    split_of.update({w: "dev" for w in words[n_train : n_train + n_dev]})
    split_of.update({w: "test" for w in words[n_train + n_dev :]})
    out: dict[str, list[WiCPair]] = {s: [] for s in SPLITS}
    for p in pairs:
        out[split_of[p.word]].append(p)
    return out


def load_wic(pos: Sequence[str] = ("n", "v"), seed: int = 0, max_pairs_per_word: int | None = 20,
             fractions: Sequence[float] = (0.8, 0.1, 0.1),
             folder: str | Path | None = None) -> dict[str, list[WiCPair]]:
    """The WordNet WiC data set: :func:`load_wordnet` -> :func:`examples_with_targets` ->
    :func:`build_pairs` -> :func:`split_by_word`. Nouns and verbs by default, as in WiC."""
    synsets, exceptions = load_wordnet(folder)
    pairs = build_pairs(examples_with_targets(synsets, exceptions, pos), seed, max_pairs_per_word)
    return split_by_word(pairs, fractions, seed)


__all__ = [
    "Synset", "Example", "WiCPair", "parse_synset_line", "parse_synsets", "parse_exceptions", "load_wordnet",
    "base_forms", "find_target", "examples_with_targets", "build_pairs", "split_by_word", "load_wic",
]
