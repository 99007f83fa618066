"""Silver part-of-speech tags for probing: an averaged-perceptron tagger, in a few lines.

Chapter 4 asks what each ELMo layer knows by training a small *probe* on frozen vectors
to predict word classes (Peters et al. 2018, section 5.3; Tenney et al. 2019). That
needs tags for the book's sentences. No gold-tagged English corpus ships on PyPI, so we
tag with a trained tagger and call the result *silver*: right about 93% of the time.

The tagger is the ``denckring-en-pos`` package's: an averaged perceptron (Collins 2002)
trained on the Universal Dependencies English Web Treebank (Silveira et al. 2014) with
the features of Honnibal's "good part-of-speech tagger in about 200 lines of Python"
(2013). Its weights are a plain table ``feature -> {label: weight}`` in gzipped JSON, so
we read that file from the data hub (source ``pos_tagger``) and re-implement the
tagging step here rather than import the package (which pulls in its own framework).
Tagging is greedy, left to right::

    label_i = argmax_y  sum_{f in features(i, words, label_{i-1}, label_{i-2})}  w[f][y]

The 15 features of a word are its lowercased form, its 1-3 letter suffixes and first
letter, its shape (capitalised? has digits?), the two previous *predicted* labels, and the
two words on either side. Frequent unambiguous words ("the", "and") skip the scoring and
take their label from a ``tagdict``.

Tagset: Universal POS tags (UPOS) without ``PUNCT`` and ``SYM``, because the tagger was
trained with punctuation removed (as :func:`ptm_lib.data.text.tokenize` removes it too):
``ADJ ADP ADV AUX CCONJ DET INTJ NOUN NUM PART PRON PROPN SCONJ VERB X``. The labels are
joint ``UPOS|VerbForm`` (``VERB|Fin``, ``VERB|Part``, ``AUX|Inf``, ``NOUN|-`` ...);
:func:`tag` returns the UPOS part unless asked for ``detailed=True``. The package
reports 93.4% UPOS accuracy on the treebank's test split. Capitalisation is a feature,
so pass words in their original case where you have it (``PROPN`` suffers otherwise).
"""

from __future__ import annotations

import functools
import gzip
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from . import sources

START, END = "<s>", "</s>"  # what a feature sees beyond either end of the sentence


def features(index: int, word: str, context: Sequence[str], prev: str, prev2: str) -> list[str]:
    """The feature strings of token ``index`` (``context`` is the lowercased sentence;
    ``prev``/``prev2`` the labels predicted for the two tokens before it)."""
    lower = word.lower()
    shape = ("X" if word[:1].isupper() else "x") + ("d" if any(ch.isdigit() for ch in word) else "")
    return [
        "bias",
        f"suf3 {lower[-3:]}", f"suf2 {lower[-2:]}", f"suf1 {lower[-1:]}", f"pre1 {lower[:1]}",
        f"shape {shape}",
        f"w {lower}",
        f"t-1 {prev}", f"t-2 {prev2}", f"t-1t-2 {prev} {prev2}",
        f"w-1 {context[index - 1] if index else START}",
        f"w-2 {context[index - 2] if index > 1 else START}",
        f"w+1 {context[index + 1] if index + 1 < len(context) else END}",
        f"w+2 {context[index + 2] if index + 2 < len(context) else END}",
        f"t-1 w {prev} {lower}",
    ]


class PerceptronTagger:
    """A trained averaged perceptron: ``weights[feature][label]``, a ``tagdict`` of words with
    one fixed label, the ``classes`` (labels) and the training ``vocabulary`` (lowercased)."""

    def __init__(self, weights: Mapping[str, Mapping[str, float]], tagdict: Mapping[str, str],
                 classes: Sequence[str], vocabulary: Sequence[str] = ()):
        if not classes:
            raise ValueError("A tagger needs at least one label in classes.")
        self.weights, self.tagdict = weights, tagdict
        self.classes = sorted(classes)  # sorted: ties resolve the same way on every run
        self.vocabulary = frozenset(vocabulary)

    @classmethod
    def from_file(cls, path: str | Path) -> "PerceptronTagger":
        """Read a gzipped JSON model with keys ``weights``, ``tagdict``, ``classes``, ``vocabulary``."""
        raw = json.loads(gzip.decompress(Path(path).read_bytes()).decode("utf-8"))
        missing = {"weights", "tagdict", "classes"} - set(raw)
        if missing:
            raise ValueError(f"{path} is not a perceptron tagger model: it lacks {sorted(missing)}.")
        return cls(raw["weights"], raw["tagdict"], raw["classes"], raw.get("vocabulary", ()))

    def predict(self, feats: Sequence[str]) -> str:
        """The label with the highest summed weight over ``feats`` (ties: the label sorting last)."""
        scores: dict[str, float] = {}
        for feat in feats:
            for label, weight in self.weights.get(feat, {}).items():
                scores[label] = scores.get(label, 0.0) + weight
        return max(self.classes, key=lambda label: (scores.get(label, 0.0), label))

    def tag(self, words: Sequence[str], detailed: bool = False) -> list[str]:
        """One label per word, left to right: UPOS (``"NOUN"``), or ``"UPOS|VerbForm"`` if ``detailed``."""
        _check_words(words)
        context = [w.lower() for w in words]
        labels: list[str] = []
        prev, prev2 = START, START
        for i, word in enumerate(words):
            label = self.tagdict.get(context[i]) or self.predict(features(i, word, context, prev, prev2))
            labels.append(label)
            prev2, prev = prev, label
        return labels if detailed else [label.partition("|")[0] for label in labels]

    def known(self, word: str) -> bool:
        """Whether ``word`` (any case) occurred in the tagger's training data."""
        return word.lower() in self.vocabulary


def _check_words(words: Sequence[str]) -> None:
    if isinstance(words, str) or not all(isinstance(w, str) and w for w in words):
        raise ValueError("tag() wants a list of words, e.g. ['the', 'dog', 'runs']; split the text first "
                         "(ptm_lib.data.text.tokenize).")
    bad = [w for w in words if not any(ch.isalnum() for ch in w)]
    if bad:
        raise ValueError(f"The tagger was trained without punctuation and cannot tag {bad[:5]}; drop punctuation "
                         "tokens first (ptm_lib.data.text.tokenize does).")


@functools.lru_cache(maxsize=1)
def load_tagger() -> PerceptronTagger:
    """The UD English-EWT tagger from the data hub's ``pos_tagger`` source, read once."""
    return PerceptronTagger.from_file(sources.path("pos_tagger", "weights"))


def tag(words: Sequence[str], detailed: bool = False) -> list[str]:
    """Silver UPOS tags of a tokenised sentence, e.g. ``tag(["she", "walks", "home"])`` ->
    ``["PRON", "VERB", "ADV"]`` (see the module docstring for the tagset)."""
    return load_tagger().tag(words, detailed) if words else []


__all__ = ["features", "PerceptronTagger", "load_tagger", "tag"]
