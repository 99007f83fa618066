"""Bad input to the evaluation functions gets a clear error that names the fix (the "bad input" issue).

The worst case was silent: 7 words against 6 vector rows scored accuracy 0.0 at coverage 1.0.
"""

import numpy as np
import pytest
import torch

from ptm_lib.evaluate import accuracy, analogy, embed, nearest, similarity

WORDS = ["a", "b", "c", "d", "e", "f", "g"]
VECTORS = np.random.default_rng(0).normal(size=(7, 5)).astype(np.float32)
QUESTIONS = [("a", "b", "c", "d"), ("b", "c", "d", "e")]
PAIRS = [("a", "b", 1.0), ("c", "d", 2.0), ("e", "f", 3.0)]
MISMATCH = r"7 words but 6 vector rows; row i must be the vector of words\[i\]: pass the words of the vocabulary"


class TestWordVectors:
    def test_analogy_with_one_vector_missing(self):  # used to return accuracy 0.0 at coverage 1.0
        with pytest.raises(ValueError, match=MISMATCH):
            analogy(VECTORS[:6], WORDS, [("a", "b", "c", "g")])

    def test_similarity_with_one_vector_missing(self):  # used to return a (wrong) Spearman rho
        with pytest.raises(ValueError, match=MISMATCH):
            similarity(VECTORS[:6], WORDS, PAIRS)

    def test_nearest_with_one_vector_missing(self):  # used to raise a bare IndexError
        with pytest.raises(ValueError, match=MISMATCH):
            nearest(VECTORS[:6], WORDS, "g")

    @pytest.mark.parametrize("question, shown", [(("a", "b", "c"), r"got 3 words \('a', 'b', 'c'\)"),
                                                 ("a b c d", "got 'a b c d'")])
    def test_a_question_needs_four_words(self, question, shown):  # 'boolean index did not match'
        with pytest.raises(ValueError, match=rf"needs 4 words a : b :: c : d.*{shown}.*load_analogies"):
            analogy(VECTORS, WORDS, [question])

    def test_a_pair_needs_a_finite_score(self):
        with pytest.raises(ValueError, match=r"is \(word1, word2, human score\), got \('a', 'b'\); load the bench"):
            similarity(VECTORS, WORDS, [("a", "b"), ("c", "d")])
        with pytest.raises(ValueError, match="no finite human score.*drop the pair or fix its score"):
            similarity(VECTORS, WORDS, [("a", "b", float("nan")), *PAIRS])

    @pytest.mark.parametrize("kw, match", [(dict(restrict=0), "restrict must be a positive integer.*restrict=30000"),
                                           (dict(restrict=-2), "restrict must be a positive integer"),
                                           (dict(batch_size=0), "batch_size must be a positive integer.*=1024")])
    def test_analogy_arguments(self, kw, match):  # restrict=-2 silently dropped the last two words
        with pytest.raises(ValueError, match=match):
            analogy(VECTORS, WORDS, QUESTIONS, **kw)

    def test_vectors_must_be_a_finite_matrix(self):
        with pytest.raises(ValueError, match=r"NaN or infinite.*retrain with a lower learning rate"):
            analogy(VECTORS * np.nan, WORDS, QUESTIONS)
        with pytest.raises(ValueError, match=r"a \(words, dimensions\) matrix, got shape \(5,\)"):
            similarity(VECTORS[0], WORDS, PAIRS)
        with pytest.raises(ValueError, match=r"k must be a positive integer, got -1; pass e.g. k=10"):
            nearest(VECTORS, WORDS, "a", k=-1)

    def test_empty_inputs_name_the_fix(self):
        with pytest.raises(ValueError, match="No analogy questions were given; pass e.g.*load_analogies"):
            analogy(VECTORS, WORDS, [])
        with pytest.raises(ValueError, match="No word pairs were given; pass e.g.*load_wordsim353"):
            similarity(VECTORS, WORDS, [])

    def test_valid_input_is_scored_as_before(self):
        vectors = np.eye(4, dtype=np.float32)
        vectors[3] = vectors[1] - vectors[0] + vectors[2]  # d = b - a + c exactly
        result = analogy(torch.from_numpy(vectors), ["a", "b", "c", "d"], [("a", "b", "c", "d")], restrict=4)
        assert result["accuracy"] == 1.0 and result["coverage"] == 1.0


class TestClassifiers:
    def test_batches_must_be_pairs(self):
        with pytest.raises(ValueError, match=r"batch is a dict with keys \['x', 'y'\]; yield \(x, y\) pairs"):
            accuracy(torch.nn.Linear(4, 3), [{"x": torch.randn(2, 4), "y": torch.zeros(2)}])

    def test_empty_data(self):
        with pytest.raises(ValueError, match=r"No batches to evaluate on: data is empty; pass at least one"):
            accuracy(torch.nn.Linear(4, 3), [])
        with pytest.raises(ValueError, match=r"No batches to embed: data is empty; pass at least one"):
            embed(lambda x: x, [])
