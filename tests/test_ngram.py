import numpy as np
import pytest
import torch

from ptm_lib.models.ngram import KneserNeyLM, modified_kn_discounts

# A tiny corpus over V = 4 words, a b c d = 0 1 2 3 ("d" never occurs): a b a b c a
A, B, C, D = 0, 1, 2, 3
TINY = [A, B, A, B, C, A]


@pytest.fixture(scope="module")
def corpus():
    """A Zipf-like random stream over 50 words, of which the last 5 never occur."""
    rng = np.random.default_rng(0)
    weights = 1.0 / np.arange(1, 46)
    return rng.choice(45, size=3000, p=weights / weights.sum())


def test_bigram_matches_hand_computation():
    lm = KneserNeyLM(order=2, vocab_size=4, discount=0.5).fit(TINY)
    # Unigram level uses continuation counts N1+(. w): a follows {b, c} -> 2, b follows {a} -> 1,
    # c follows {b} -> 1, d -> 0; total 4; gamma numerator = 0.5 * 3 words = 1.5; uniform 1/4.
    #   P1(a) = (2 - 0.5 + 1.5 / 4) / 4 = 1.875 / 4 = 0.46875
    #   P1(b) = P1(c) = (1 - 0.5 + 0.375) / 4 = 0.21875,   P1(d) = 0.375 / 4 = 0.09375
    assert np.allclose(lm.distribution([]), [0.46875, 0.21875, 0.21875, 0.09375], atol=1e-12)
    # Bigram counts: ab 2, ba 1, bc 1, ca 1.
    #   context a: total 2, gamma numerator 0.5 (one word)
    #     P(b|a) = (2 - 0.5 + 0.5 * 0.21875) / 2 = 0.8046875,   P(a|a) = 0.5 * 0.46875 / 2 = 0.1171875
    assert lm.prob([A], B) == pytest.approx(0.8046875, abs=1e-12)
    assert lm.prob([A], A) == pytest.approx(0.1171875, abs=1e-12)
    #   context b: total 2, gamma numerator 1.0 (two words)
    #     P(a|b) = (1 - 0.5 + 1.0 * 0.46875) / 2 = 0.484375,   P(d|b) = 1.0 * 0.09375 / 2 = 0.046875
    assert lm.prob([B], A) == pytest.approx(0.484375, abs=1e-12)
    assert lm.prob([B], D) == pytest.approx(0.046875, abs=1e-12)
    #   context c: total 1, P(a|c) = (1 - 0.5 + 0.5 * 0.46875) / 1 = 0.734375
    assert lm.prob([C], A) == pytest.approx(0.734375, abs=1e-12)
    #   context d was never seen: back off to the unigram level
    assert np.allclose(lm.distribution([D]), lm.distribution([]), atol=1e-15)
    # only the last order - 1 words of a context matter
    assert lm.prob([D, C, A], B) == pytest.approx(0.8046875, abs=1e-12)


def test_trigram_matches_hand_computation():
    lm = KneserNeyLM(order=3, vocab_size=4, discount=0.5).fit(TINY)
    # Trigrams: aba, bab, abc, bca (1 each). The bigram level now uses continuation counts
    # N1+(. x y): ba, ab, bc, ca all 1 (the first "ab" has no word before it).
    #   P2(b|a) = (1 - 0.5 + 0.5 * P1(b)) / 1 = 0.5 + 0.5 * 0.21875 = 0.609375
    #   P2(c|b) = (1 - 0.5 + 1.0 * P1(c)) / 2 = 0.71875 / 2 = 0.359375
    #   P3(c|a b) = (1 - 0.5 + 1.0 * P2(c|b)) / 2 = 0.859375 / 2 = 0.4296875
    #   P3(d|a b) = 1.0 * P2(d|b) / 2 = (1.0 * 0.09375 / 2) / 2 = 0.0234375
    assert lm.prob([C], A) > 0  # unigram level unchanged; spot checks below
    assert lm.prob([A], B) == pytest.approx(0.609375, abs=1e-12)
    assert lm.prob([A, B], C) == pytest.approx(0.4296875, abs=1e-12)
    assert lm.prob([A, B], D) == pytest.approx(0.0234375, abs=1e-12)
    assert lm.count([A, B]) == 2 and lm.count([A, B, C]) == 1 and lm.count([D]) == 0


def test_modified_discounts_from_count_of_counts():
    # n1 = 4, n2 = 2, n3 = 1, n4 = 1 -> Y = 4 / (4 + 2 * 2) = 0.5
    # D1 = 1 - 2 * 0.5 * 2 / 4 = 0.5;  D2 = 2 - 3 * 0.5 * 1 / 2 = 1.25;  D3+ = 3 - 4 * 0.5 * 1 / 1 = 1.0
    counts = np.array([1, 1, 1, 1, 2, 2, 3, 4, 0])
    assert modified_kn_discounts(counts) == pytest.approx((0.5, 1.25, 1.0))
    # too few counts to estimate: fall back to 0.5 r
    assert modified_kn_discounts(np.array([1, 1])) == pytest.approx((0.5, 1.0, 1.5))


@pytest.mark.parametrize("order", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("discount", [None, 0.75])
def test_distributions_sum_to_one(corpus, order, discount):
    lm = KneserNeyLM(order, vocab_size=50, discount=discount).fit(corpus)
    contexts = {
        "empty": [],
        "seen": list(corpus[100 : 100 + order - 1]),
        "longer than needed": list(corpus[:20]),
        "unseen words": [47, 48, 49, 46],
        "half seen": list(corpus[5:7]) + [49],
    }
    for name, context in contexts.items():
        p = lm.distribution(context)
        assert p.shape == (50,)
        assert abs(p.sum() - 1.0) < 1e-9, name
        assert (p > 0).all(), f"{name}: every word, even unseen ones, needs probability > 0"


def test_log_probs_agree_with_distribution(corpus):
    lm = KneserNeyLM(4, vocab_size=50).fit(corpus[:2000])
    held_out = corpus[2000:2100]
    history = [int(corpus[1999])]
    logp = lm.log_probs(held_out, history=history)
    seq = history + held_out.tolist()
    for t in [0, 1, 2, 3, 50, 99]:
        expected = np.log(lm.distribution(seq[: t + 1])[held_out[t]])
        assert logp[t] == pytest.approx(expected, abs=1e-12)
    assert lm.log_prob_sequence(held_out, history) == pytest.approx(logp.sum())
    assert lm.perplexity(held_out, history) == pytest.approx(np.exp(-logp.mean()))


def test_bigram_prefers_its_own_text_to_shuffled_text(corpus):
    lm = KneserNeyLM(2, vocab_size=50).fit(corpus)
    shuffled = np.random.default_rng(1).permutation(corpus)
    assert lm.perplexity(corpus) < lm.perplexity(shuffled)
    # a higher order fits its own training text even better
    assert KneserNeyLM(4, 50).fit(corpus).perplexity(corpus) < lm.perplexity(corpus)


def test_clear_errors():
    with pytest.raises(ValueError, match="order"):
        KneserNeyLM(0, 10)
    with pytest.raises(ValueError, match="discount"):
        KneserNeyLM(2, 10, discount=1.5)
    lm = KneserNeyLM(2, 4)
    with pytest.raises(RuntimeError, match="fit"):
        lm.distribution([])
    with pytest.raises(ValueError, match="vocab_size"):
        lm.fit([0, 1, 4])
    with pytest.raises(ValueError, match="at least 2 training tokens"):
        lm.fit([0])
    with pytest.raises(TypeError, match="encode the words"):
        lm.fit(np.array([0.0, 1.0]))
    lm.fit(TINY)
    with pytest.raises(ValueError, match="outside"):
        lm.prob([A], 7)


def test_generate_is_reproducible_and_samples_the_conditional_distribution(corpus):
    lm = KneserNeyLM(3, vocab_size=50).fit(corpus)
    prompt = [int(w) for w in corpus[10:13]]
    a = lm.generate(prompt, 40, generator=torch.Generator().manual_seed(0))
    assert a.dtype == np.int64 and a.shape == (43,) and a[:3].tolist() == prompt
    assert np.array_equal(a, lm.generate(prompt, 40, generator=torch.Generator().manual_seed(0)))
    assert not np.array_equal(a, lm.generate(prompt, 40, generator=torch.Generator().manual_seed(1)))
    assert 0 <= a.min() and a.max() < 50
    # one word at a time, the draws follow distribution(context)
    g = torch.Generator().manual_seed(0)
    draws = np.array([lm.generate(prompt, 1, generator=g)[-1] for _ in range(3000)])
    assert np.abs(np.bincount(draws, minlength=50) / 3000 - lm.distribution(prompt)).max() < 0.03


def test_greedy_generate_follows_the_argmax_of_the_last_two_words(corpus):
    lm = KneserNeyLM(3, vocab_size=50).fit(corpus)
    out = lm.generate([7, 3, 1], 15, top_k=1).tolist()
    for t in range(3, len(out)):
        assert out[t] == lm.distribution(out[t - 2 : t]).argmax()
    assert lm.generate([8, 3, 1], 15, top_k=1).tolist()[1:] == out[1:], "only the last order - 1 words count"


def test_generate_bad_input(corpus):
    lm = KneserNeyLM(3, vocab_size=50)
    with pytest.raises(RuntimeError, match="fit"):
        lm.generate([1, 2], 5)
    lm.fit(corpus)
    with pytest.raises(ValueError, match="prompt is empty"):
        lm.generate([], 5)
    with pytest.raises(ValueError, match="outside"):
        lm.generate([1, 50], 5)
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        lm.generate([1, 2], 5, temperature=-1.0)
    with pytest.raises(ValueError, match="top_k"):
        lm.generate([1, 2], 5, top_k=0)
