import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ptm_lib.data import sources, wordsets
from ptm_lib.data.vocab import OutOfVocabularyError

QUESTIONS = """: capital-common-countries
Athens Greece Baghdad Iraq
Athens Greece Bangkok Thailand
: gram3-comparative
bad worse big bigger
"""

WORDSIM = """# The WordSimilarity-353 Test Collection (http://www.cs.technion.ac.il/~gabr/)
# Word 1\tWord 2\tHuman (mean)
love\tsex\t6.77
Tiger\tcat\t7.35
"""

SIMLEX_WITH_HEADER = """word1\tword2\tSimLex999
old\tnew\t1.58
smart\tintelligent\t9.2
"""


@pytest.fixture
def files(tmp_path, monkeypatch):
    paths = {}
    for key, content in [("analogies", QUESTIONS), ("wordsim353", WORDSIM),
                         ("simlex999", SIMLEX_WITH_HEADER)]:
        paths["word_benchmarks", key] = tmp_path / key
        paths["word_benchmarks", key].write_text(content)
    words = ["the", ",", "king", "queen", "Paris?"]
    vectors = np.arange(len(words) * 4, dtype=np.float32).reshape(len(words), 4)
    paths["glove_6b_50d", "vectors"] = tmp_path / "emb.npy"
    np.save(paths["glove_6b_50d", "vectors"], vectors)
    paths["glove_6b_50d", "index"] = tmp_path / "index.parquet"
    pq.write_table(pa.table({"index": words}), paths["glove_6b_50d", "index"])
    monkeypatch.setattr(sources, "path", lambda name, key: paths[name, key])
    wordsets.clear_cache()
    yield vectors
    wordsets.clear_cache()


def test_analogies(files):
    questions = wordsets.load_analogies()
    assert questions == [
        wordsets.Analogy("capital-common-countries", "athens", "greece", "baghdad", "iraq"),
        wordsets.Analogy("capital-common-countries", "athens", "greece", "bangkok", "thailand"),
        wordsets.Analogy("gram3-comparative", "bad", "worse", "big", "bigger"),
    ]
    assert [q.semantic for q in questions] == [True, True, False]
    with pytest.raises(ValueError, match="line 2"):
        wordsets.parse_analogies(": s\nonly three words\n")


def test_similarity_files_skip_comments_and_headers(files):
    assert wordsets.load_wordsim353() == [("love", "sex", 6.77), ("tiger", "cat", 7.35)]
    assert wordsets.load_simlex999() == [("old", "new", 1.58), ("smart", "intelligent", 9.2)]
    with pytest.raises(ValueError, match="no numeric score"):
        wordsets.parse_similarity("a\tb\t1.0\nc\td\tnot-a-number\n")


def test_glove_loader(files):
    glove = wordsets.load_glove_50d()
    assert glove.words == ["the", ",", "king", "queen", "Paris?"]
    assert glove.vectors.dtype == np.float32 and glove.vectors.shape == (5, 4)
    np.testing.assert_array_equal(glove.vector("queen"), files[3])
    assert glove.stoi["king"] == 2 and "king" in glove and len(glove) == 5 and glove.dim == 4
    small = wordsets.load_glove_50d(max_words=3)
    assert small.words == ["the", ",", "king"] and small.vectors.shape == (3, 4)
    with pytest.raises(OutOfVocabularyError) as info:
        small.vector("queen")
    assert "'queen'" in str(info.value) and "3 GloVe words" in str(info.value)
    assert "max_words" in str(info.value)
    with pytest.raises(ValueError, match="max_words"):
        wordsets.load_glove_50d(max_words=0)
