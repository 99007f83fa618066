"""Nearest neighbours, analogies and word similarity (ptm_lib.evaluate)."""

import numpy as np
import pytest

from ptm_lib import evaluate
from ptm_lib.evaluate import OutOfVocabularyError

# a 2-d toy world: gender along x, royalty along y
WORDS = ["man", "woman", "king", "queen", "apple", "Paris"]
VECS = np.array([[1.0, 0.1], [-1.0, 0.1], [1.0, 1.0], [-1.0, 1.0], [0.1, -1.0], [0.3, -0.8]])


def test_nearest_excludes_the_query():
    out = evaluate.nearest(VECS, WORDS, "king", k=2)
    assert [w for w, _ in out] == ["man", "queen"]  # cosines 0.77 and 0.0 (woman, apple: -0.63)
    assert all(w != "king" for w, _ in evaluate.nearest(VECS, WORDS, "king", k=5))
    assert out[0][1] == pytest.approx(max(VECS[i] @ VECS[2] / np.linalg.norm(VECS[i]) / np.linalg.norm(VECS[2])
                                          for i in range(6) if i != 2))


def test_nearest_unknown_word_names_it():
    from ptm_lib.data.vocab import OutOfVocabularyError as VocabError

    assert OutOfVocabularyError is VocabError
    with pytest.raises(OutOfVocabularyError, match="'kingdom'"):
        evaluate.nearest(VECS, WORDS, "kingdom")
    with pytest.raises(KeyError):
        evaluate.nearest(VECS, WORDS, "kingdom")


def test_analogy_known_answer_and_coverage():
    questions = [("royal", "man", "king", "woman", "queen"),     # king - man + woman = queen
                 ("royal", "woman", "queen", "man", "king"),
                 ("royal", "man", "woman", "king", "apple"),     # wrong on purpose (answer: queen)
                 ("other", "man", "king", "woman", "princess")]  # out of vocabulary: skipped
    result = evaluate.analogy(VECS, WORDS, questions)
    assert result["correct"] == 2 and result["total"] == 4
    assert result["accuracy"] == pytest.approx(2 / 3)
    assert result["coverage"] == pytest.approx(3 / 4)
    assert result["sections"]["royal"] == {"accuracy": pytest.approx(2 / 3), "correct": 2, "covered": 3, "total": 3}
    assert result["sections"]["other"]["covered"] == 0


def test_analogy_excludes_query_words_and_accepts_objects():
    from collections import namedtuple

    Analogy = namedtuple("Analogy", "section a b c d")
    # "man" is closest to king - man + woman after queen is removed from the vocabulary,
    # but as a query word it must never be the answer
    result = evaluate.analogy(VECS, WORDS, [Analogy("s", "man", "king", "woman", "queen")], restrict=3)
    assert result["coverage"] == 0.0  # queen is outside the 3 most frequent words
    lowered = evaluate.analogy(VECS, WORDS, [("MAN", "KING", "WOMAN", "QUEEN")])
    assert lowered["correct"] == 1  # case-insensitive by default; 4-tuples have section ""


def test_analogy_in_batches_matches_one_batch():
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(200, 16))
    words = [f"w{i}" for i in range(200)]
    questions = [tuple(f"w{i}" for i in rng.choice(200, 4, replace=False)) for _ in range(300)]
    a = evaluate.analogy(vecs, words, questions, batch_size=7)
    b = evaluate.analogy(vecs, words, questions, batch_size=1000)
    assert a["correct"] == b["correct"]


def test_similarity_spearman_and_coverage():
    pairs = [("man", "woman", 8.0), ("king", "queen", 7.0), ("man", "apple", 1.0), ("king", "unicorn", 5.0)]
    vecs = np.array([[1.0, 0.0], [np.cos(0.2), np.sin(0.2)], [np.cos(0.9), np.sin(0.9)], [np.cos(1.5), np.sin(1.5)]])
    words = ["a", "b", "c", "d"]
    monotone = [("a", "b", 9.0), ("a", "c", 6.0), ("a", "d", 1.0), ("a", "zzz", 3.0)]
    result = evaluate.similarity(vecs, words, monotone)
    assert result["spearman"] == pytest.approx(1.0)
    assert result["coverage"] == pytest.approx(0.75) and result["pairs"] == 3
    reversed_scores = [(a, b, -s) for a, b, s in monotone]
    assert evaluate.similarity(vecs, words, reversed_scores)["spearman"] == pytest.approx(-1.0)
    assert evaluate.similarity(VECS, WORDS, pairs)["coverage"] == pytest.approx(0.75)


def test_empty_inputs_are_errors():
    with pytest.raises(ValueError):
        evaluate.analogy(VECS, WORDS, [])
    with pytest.raises(ValueError):
        evaluate.similarity(VECS, WORDS, [])
