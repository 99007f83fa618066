import pytest
from tokenizers import Tokenizer as Backend
from tokenizers.models import BPE

from ptm_lib.data.bpe import (
    SPECIALS,
    BPETokenizer,
    UnknownTextWarning,
    apply_bpe,
    learn_bpe,
    merge_pair,
    pair_counts,
    train_bpe,
    word_symbols,
)

CLASSIC = {"low": 5, "lower": 2, "newest": 6, "widest": 3}  # Sennrich et al. (2016), fig. 1

# Counts chosen so that the most frequent pair is unique for the first 9 merges.
NO_TIES = {"low": 34, "lower": 27, "lowest": 52, "newer": 20, "newest": 24, "wider": 19,
           "widest": 12, "slow": 50, "slower": 46, "slowest": 46, "new": 35, "news": 43,
           "wide": 18, "tall": 8, "taller": 59, "tallest": 2}


def texts_of(word_counts):
    return [" ".join([w] * c) for w, c in word_counts.items()]


def tie_free_steps(word_counts, limit=100):
    """How many merges happen before the top pair count is first shared by two pairs."""
    words = {word_symbols(w): c for w, c in word_counts.items()}
    for step in range(limit):
        counts = pair_counts(words)
        top = sorted(counts.values(), reverse=True)
        if not top or (len(top) > 1 and top[0] == top[1]):
            return step
        words = {merge_pair(s, max(counts, key=counts.get)): c for s, c in words.items()}
    return limit


def test_classic_example_merges_by_hand():
    # Step 1: (e,s) and (s,t</w>) both occur 6 + 3 = 9 times; the tie goes to ("e","s").
    # Step 2: (es,t</w>) 9.  Step 3: (l,o) 5 + 2 = 7.  Step 4: (n,e), (e,w), (w,est</w>)
    # all 6 -> ("e","w").  5: (ew,est</w>) 6 beats (n,ew) 6 alphabetically.
    # 6: (n,ewest</w>) 6.  7: (lo,w</w>) 5.  8: (d,est</w>), (i,d), (w,i) all 3 -> (d,..).
    assert learn_bpe(CLASSIC, 8) == [
        ("e", "s"), ("es", "t</w>"), ("l", "o"), ("e", "w"), ("ew", "est</w>"),
        ("n", "ewest</w>"), ("lo", "w</w>"), ("d", "est</w>")]
    merges = learn_bpe(CLASSIC, 8)
    assert apply_bpe("newest", merges) == ["newest</w>"]
    assert apply_bpe("lowest", merges) == ["lo", "w", "est</w>"]
    assert apply_bpe("widest", merges) == ["w", "i", "dest</w>"]
    assert apply_bpe("x", merges) == ["x</w>"]


def test_learning_stops_when_every_word_is_one_symbol():
    merges = learn_bpe(CLASSIC, 1000)
    assert len(merges) < 1000 and len(set(merges)) == len(merges)
    for word in CLASSIC:
        assert apply_bpe(word, merges) == [word + "</w>"]
    assert learn_bpe(CLASSIC, 0) == []


def test_merge_pair_is_left_to_right_and_non_overlapping():
    assert merge_pair(("a", "a", "a"), ("a", "a")) == ("aa", "a")
    assert merge_pair(("a", "b", "a", "b</w>"), ("a", "b")) == ("ab", "a", "b</w>")


def test_teaching_version_agrees_with_tokenizers_when_there_are_no_ties():
    steps = tie_free_steps(NO_TIES)
    assert steps >= 8
    tok = train_bpe(texts_of(NO_TIES), vocab_size=1000)
    assert tok.merges[:steps] == learn_bpe(NO_TIES, steps)
    # segmentation with the same merge list agrees always (ties or not)
    for word in [*NO_TIES, *CLASSIC, "slowness", "tallow", "sweet", "e"]:
        assert apply_bpe(word, tok.merges) == tok.tokens(word), word


def test_specials_have_ids_0_to_4_and_are_never_split():
    tok = train_bpe(texts_of(CLASSIC), vocab_size=60)
    assert [tok.token_to_id(s) for s in SPECIALS] == [0, 1, 2, 3, 4]
    assert (tok.pad_id, tok.unk_id, tok.start_id, tok.delim_id, tok.extract_id) == (0, 1, 2, 3, 4)
    ids = tok.encode("<s> lowest <$> newer <e>")
    assert ids[0] == 2 and ids[-1] == 4 and ids.count(3) == 1
    assert tok.tokens("<s>low<e>")[0] == "<s>" and tok.tokens("<s>low<e>")[-1] == "<e>"
    assert tok.decode(ids) == "lowest newer"
    assert "<s>" in tok.decode(ids, skip_specials=False)


def test_round_trip_and_unknown_characters():
    corpus = ["the cat sat on the mat", "the dog's 3.5 kg bone", "state-of-the-art cats"]
    tok = train_bpe(corpus, vocab_size=80)
    for text in corpus:
        assert tok.decode(tok.encode(text)) == text
    with pytest.warns(UnknownTextWarning, match="'z', 'a' at the end of a word"):
        ids = tok.encode("the zebra")  # z never seen in training, a never at the end of a word
    assert tok.unk_id in ids
    assert tok.decode(tok.encode("cat  sat\nmat")) == "cat sat mat"
    assert tok.encode_batch(corpus) == [tok.encode(t) for t in corpus]


def test_vocabulary_is_specials_alphabet_and_merges():
    corpus = texts_of(NO_TIES)
    assert train_bpe(corpus, vocab_size=45).vocab_size == 45
    tok = train_bpe(corpus, vocab_size=1000)  # runs out of pairs first, like learn_bpe
    chars = {c for w in NO_TIES for c in w}
    finals = {w[-1] + "</w>" for w in NO_TIES}
    assert len(tok.merges) == len(learn_bpe(NO_TIES, 1000))
    assert tok.vocab_size == len(tok) == len(SPECIALS) + len(chars) + len(finals) + len(tok.merges)
    # reproducible ids (tokenizers itself numbers the alphabet in hash order, new in every process):
    # the specials, then the alphabet sorted, then one id per merge in merge order
    tokens = [tok.id_to_token(i) for i in range(tok.vocab_size)]
    n_alphabet = len(chars) + len(finals)
    assert tokens[:len(SPECIALS)] == list(SPECIALS)
    assert tokens[len(SPECIALS):len(SPECIALS) + n_alphabet] == sorted(chars | finals)
    assert tokens[len(SPECIALS) + n_alphabet:] == [a + b for a, b in tok.merges]


def test_token_ids_are_the_same_in_every_process():
    import subprocess
    import sys
    script = ("from ptm_lib.data.bpe import train_bpe; "
              f"print(train_bpe({texts_of(NO_TIES)!r} * 3, vocab_size=40).encode('lowest newer wider'))")
    outputs = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
               for _ in range(3)}
    assert len(outputs) == 1, outputs


def test_save_load_round_trip(tmp_path):
    tok = train_bpe(texts_of(NO_TIES), vocab_size=50)
    tok.save(tmp_path / "sub" / "bpe.json")
    again = BPETokenizer.load(tmp_path / "sub" / "bpe.json")
    assert again.vocab_size == tok.vocab_size and again.merges == tok.merges
    assert again.specials == SPECIALS and again.extract_id == 4
    text = "slowest newer taller news"
    assert again.encode(text) == tok.encode(text)
    assert again.decode(again.encode(text)) == text
    with pytest.raises(FileNotFoundError, match="Tokenizer.save"):
        BPETokenizer.load(tmp_path / "missing.json")


def test_clear_errors():
    with pytest.raises(ValueError, match="too small"):
        train_bpe(texts_of(CLASSIC), vocab_size=10)
    with pytest.raises(ValueError, match="empty"):
        train_bpe(["", "  \n"], vocab_size=100)
    with pytest.raises(ValueError, match="num_merges"):
        learn_bpe(CLASSIC, -1)
    with pytest.raises(ValueError, match="empty"):
        learn_bpe({}, 3)
    with pytest.raises(ValueError, match="positive"):
        learn_bpe({"low": 0}, 3)
    with pytest.raises(ValueError, match="whitespace"):
        apply_bpe("two words", [])
    with pytest.raises(ValueError, match="specials"):
        train_bpe(["low"], specials=("<pad>", "<unk>"))
    with pytest.raises(ValueError, match="special tokens"):
        BPETokenizer(Backend(BPE()))  # a tokenizers.Tokenizer without GPT's special tokens
    tok = train_bpe(texts_of(CLASSIC), vocab_size=40)
    with pytest.raises(ValueError, match="not in the vocabulary"):
        tok.token_to_id("zebra</w>")
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tok.decode([0, 10_000])
