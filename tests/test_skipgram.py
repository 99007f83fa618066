"""Subsampling, noise distribution and windows (ptm_lib.data.skipgram)."""

import numpy as np
import pytest

from ptm_lib.data import skipgram as sg


def test_noise_distribution_is_count_to_the_three_quarters():
    counts = np.array([1, 16, 81, 256])
    p = sg.noise_distribution(counts)
    assert p.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(p, np.array([1, 8, 27, 64]) / 100)  # k^4 ** 0.75 = k^3


def test_keep_probabilities_word2vec_formula():
    counts = np.array([1000, 10, 1, 989])  # total 2000: f = 0.5, 0.005, 0.0005, 0.4945
    keep = sg.keep_probabilities(counts, sample=1e-3)
    f = 0.5
    assert keep[0] == pytest.approx((np.sqrt(f / 1e-3) + 1) * 1e-3 / f)  # = 0.0467...
    assert keep[0] == pytest.approx(0.046721, abs=1e-6)
    assert keep[1] == pytest.approx((np.sqrt(5) + 1) * 0.2)  # 0.647
    assert keep[2] == 1.0  # f <= t is always kept (formula gives > 1)
    np.testing.assert_array_equal(sg.keep_probabilities(counts, sample=0), np.ones(4))


def test_subsample_rate():
    keep = np.array([1.0, 0.25])
    ids = np.tile([0, 1], 20000)
    rng = np.random.default_rng(0)
    kept, _ = sg.subsample(ids, np.zeros_like(ids), keep, rng)
    assert (kept == 0).sum() == 20000
    assert (kept == 1).sum() / 20000 == pytest.approx(0.25, abs=0.02)


def _positions_stream(lengths):
    """A stream whose ids are the token positions, so pairs reveal their offsets."""
    ids, sent = sg.stream([np.arange(n) for n in lengths])
    return np.arange(len(ids)), sent


def test_fixed_window_pairs_exact_count():
    ids, sent = _positions_stream([10, 3])
    c, x = sg.skipgram_pairs(ids, sent, window=2, dynamic=False)
    # a sentence of n tokens has 2 * sum_{o=1..w} (n - o) pairs (if n > w)
    assert len(c) == 2 * ((10 - 1) + (10 - 2)) + 2 * ((3 - 1) + (3 - 2))
    assert len(set(zip(c.tolist(), x.tolist()))) == len(c)  # no duplicates


def test_dynamic_pairs_stay_in_window_and_sentence():
    ids, sent = _positions_stream([50, 7, 30])
    c, x = sg.skipgram_pairs(ids, sent, window=5, rng=np.random.default_rng(0))
    assert np.all(c != x)  # never a token with itself
    assert np.all(np.abs(c - x) <= 5)
    assert np.all(sent[c] == sent[x])
    # a centre's reduced window is symmetric: it sees offset +-o only if it sees every |o'| < |o|
    reach = {}
    for centre, ctx in zip(c, x):
        reach.setdefault(centre, set()).add(ctx - centre)
    for centre, offs in reach.items():
        r = max(abs(o) for o in offs)
        expected = {o for o in range(-r, r + 1)
                    if o and 0 <= centre + o < len(ids) and sent[centre + o] == sent[centre]}
        assert offs == expected


def test_dynamic_window_mean():
    ids, sent = _positions_stream([200_000])
    c, _ = sg.skipgram_pairs(ids, sent, window=5, rng=np.random.default_rng(0))
    assert len(c) / len(ids) == pytest.approx(2 * 3.0, rel=0.01)  # E[reduced window] = 3


def test_cbow_windows_match_pairs():
    ids, sent = _positions_stream([6, 4])
    ctx, mask, centres = sg.cbow_windows(ids, sent, window=2, dynamic=False)
    c, x = sg.skipgram_pairs(ids, sent, window=2, dynamic=False)
    from_cbow = sorted((int(centre), int(j)) for centre, row, m in zip(centres, ctx, mask) for j in row[m])
    assert from_cbow == sorted(zip(c.tolist(), x.tolist()))
    assert np.all(ctx[~mask] == 0)


def test_empty_corpus():
    with pytest.raises(ValueError, match="empty"):
        sg.stream([np.array([], dtype=np.int64)])


def test_cbow_windows_hold_the_dynamic_skipgram_pairs():
    ids, sent = _positions_stream([40, 9, 25])
    ctx, mask, centres = sg.cbow_windows(ids, sent, window=4, rng=np.random.default_rng(7))
    c, x = sg.skipgram_pairs(ids, sent, window=4, rng=np.random.default_rng(7))
    from_windows = sorted((int(centre), int(j)) for centre, row, m in zip(centres, ctx, mask) for j in row[m])
    assert from_windows == sorted(zip(c.tolist(), x.tolist()))
