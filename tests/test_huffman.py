"""Huffman codes for hierarchical softmax (ptm_lib.models.huffman)."""

import numpy as np
import pytest

from ptm_lib.models.huffman import huffman_tree

# Hand-built with word2vec.c's CreateBinaryTree on counts (ids 0..5) = 5 9 12 13 16 45
# (the textbook example). Sorted by count: 45 16 13 12 9 5. Merges, second-smallest gets 1:
#   inner 0 = {5 (id0): 0, 9 (id1): 1}          weight 14
#   inner 1 = {12 (id2): 0, 13 (id3): 1}        weight 25
#   inner 2 = {inner0 (14): 0, 16 (id4): 1}     weight 30
#   inner 3 = {inner1 (25): 0, inner2 (30): 1}  weight 55
#   inner 4 = {45 (id5): 0, inner3 (55): 1}     weight 100 = root (V - 2 = 4)
# Reading bits from the root down:
HAND = {0: ("1100", [4, 3, 2, 0]), 1: ("1101", [4, 3, 2, 0]), 2: ("100", [4, 3, 1]),
        3: ("101", [4, 3, 1]), 4: ("111", [4, 3, 2]), 5: ("0", [4])}


def test_hand_checked_tree():
    tree = huffman_tree(np.array([5, 9, 12, 13, 16, 45]))
    for word, (code, path) in HAND.items():
        assert tree.code(word) == code
        assert tree.path(word) == path
    assert tree.n_inner == 5 and tree.max_length == 4


def test_ids_in_any_order_give_the_same_codes():
    counts = np.array([5, 9, 12, 13, 16, 45])
    perm = np.array([3, 5, 0, 4, 1, 2])
    tree, shuffled = huffman_tree(counts), huffman_tree(counts[perm])
    for new, old in enumerate(perm):
        assert shuffled.code(new) == tree.code(old)


def _random_tree(v=500, seed=0):
    counts = np.random.default_rng(seed).zipf(1.3, size=v).clip(max=10**6)
    return counts, huffman_tree(counts)


def test_lengths_monotone_in_frequency():
    counts, tree = _random_tree()
    order = np.argsort(-counts, kind="stable")
    assert np.all(np.diff(tree.lengths[order]) >= 0)


def test_prefix_free_and_padded_consistently():
    counts, tree = _random_tree()
    codes = [tree.code(w) for w in range(len(counts))]
    assert len(set(codes)) == len(codes)
    ordered = sorted(codes)  # a prefix would sort right before a word it prefixes
    assert not any(b.startswith(a) for a, b in zip(ordered, ordered[1:]))
    assert np.array_equal(tree.mask.sum(1), tree.lengths)
    assert np.all(tree.codes[~tree.mask] == 0) and np.all(tree.points[~tree.mask] == 0)
    assert np.all(tree.points[:, 0] == len(counts) - 2)  # every path starts at the root
    assert tree.points.max() <= len(counts) - 2


def test_kraft_equality_and_near_entropy():
    counts, tree = _random_tree()
    assert np.isclose(np.sum(2.0 ** -tree.lengths), 1.0)  # a full binary tree
    p = counts / counts.sum()
    entropy = -(p * np.log2(p)).sum()
    assert entropy <= (p * tree.lengths).sum() < entropy + 1


def test_deterministic_ties():
    a, b = huffman_tree(np.ones(7, dtype=int)), huffman_tree(np.ones(7, dtype=int))
    assert [a.code(w) for w in range(7)] == [b.code(w) for w in range(7)]


def test_bad_counts():
    with pytest.raises(ValueError, match="at least 2"):
        huffman_tree(np.array([3]))
    with pytest.raises(ValueError, match="positive"):
        huffman_tree(np.array([3, 0, 1]))
