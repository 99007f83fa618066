"""The Huffman tree behind hierarchical softmax (Mikolov et al. 2013, section 2.1).

Hierarchical softmax replaces the ``V``-way softmax by a walk down a binary tree whose
leaves are the words: the probability of a word is the product, along its path from the
root, of ``sigma(+-v . u_node)`` at each inner node. A *Huffman* tree puts frequent words
near the root, so their paths are short and the average cost is about the entropy of the
unigram distribution (in bits) instead of ``log2 V``.

:func:`huffman_tree` follows ``CreateBinaryTree`` of the original ``word2vec.c``: words
sorted by decreasing count, the two-queue merge (leaves on one side, freshly merged inner
nodes on the other), the *second* smallest node of each merge gets bit 1, and inner nodes
are numbered in merge order with the root last (``V - 2``). Ties are broken
deterministically: words of equal count keep their id order (a stable sort), and on equal
weight the inner node is taken before the leaf (``word2vec.c``'s strict ``<``).

For vectorised training the codes and paths come as ``(V, L)`` arrays padded to the
longest code ``L``, with a boolean ``mask``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class HuffmanTree:
    """Codes and paths of every word, padded to ``max_length``.

    ``codes[w, i]`` is the i-th bit (0 or 1) on the way from the root to word ``w``,
    ``points[w, i]`` the inner node (``0 .. V-2``, root ``V-2``) where that bit is decided,
    and ``mask[w, i]`` is True for ``i < lengths[w]``. Padding is 0 in ``codes`` and
    ``points``. Shapes: ``(V, L)`` for the three matrices, ``(V,)`` for ``lengths``.
    """

    codes: np.ndarray
    points: np.ndarray
    mask: np.ndarray
    lengths: np.ndarray

    @property
    def n_inner(self) -> int:
        """Number of inner nodes, ``V - 1`` (one output vector each)."""
        return len(self.lengths) - 1

    @property
    def max_length(self) -> int:
        return self.codes.shape[1]

    def code(self, word: int) -> str:
        """The code of word id ``word`` as a string of bits, e.g. ``"0110"``."""
        return "".join(str(int(b)) for b in self.codes[word, : self.lengths[word]])

    def path(self, word: int) -> list[int]:
        """Inner nodes from the root down to word id ``word``."""
        return [int(p) for p in self.points[word, : self.lengths[word]]]


def _merge(counts_desc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``word2vec.c``'s two-queue merge over counts sorted in decreasing order.

    Returns ``parent`` and ``bit`` for the ``2V - 1`` nodes (leaves ``0..V-1`` in sorted
    order, then inner node ``a`` as ``V + a``); the root has parent -1.
    """
    v = len(counts_desc)
    weight = np.concatenate([counts_desc.astype(np.float64), np.full(v, 1e30)])
    parent = np.full(2 * v - 1, -1, dtype=np.int64)
    bit = np.zeros(2 * v - 1, dtype=np.int8)
    leaf, inner = v - 1, v  # next smallest leaf (walking left), next unused inner node
    for a in range(v - 1):
        smallest = []
        for _ in range(2):
            if leaf >= 0 and weight[leaf] < weight[inner]:
                smallest.append(leaf)
                leaf -= 1
            else:
                smallest.append(inner)
                inner += 1
        first, second = smallest
        weight[v + a] = weight[first] + weight[second]
        parent[first] = parent[second] = v + a
        bit[second] = 1
    return parent, bit


def huffman_tree(counts: np.ndarray) -> HuffmanTree:
    """Build the Huffman tree of a vocabulary from its word ``counts`` (shape ``(V,)``).

    Ids may come in any order; they are sorted internally by decreasing count (stable, so
    equal counts keep id order) exactly as ``word2vec.c`` sorts its vocabulary, and the
    result is indexed by the original ids.
    """
    counts = np.asarray(counts)
    v = len(counts)
    if v < 2:
        raise ValueError(f"A Huffman tree needs at least 2 words, got {v}.")
    if (counts <= 0).any():
        raise ValueError("Every word count must be positive; drop unseen words from the vocabulary first.")
    order = np.argsort(-counts, kind="stable")  # sorted position -> original id
    parent, bit = _merge(counts[order])
    root = 2 * v - 2
    depth = np.zeros(2 * v - 1, dtype=np.int64)
    for node in range(root - 1, -1, -1):  # parents are created after their children
        depth[node] = depth[parent[node]] + 1
    length = int(depth[:v].max())
    codes = np.zeros((2 * v - 1, length), dtype=np.int8)
    points = np.zeros((2 * v - 1, length), dtype=np.int64)
    for node in range(root - 1, -1, -1):  # top-down: copy the parent's prefix, add one step
        up, d = parent[node], depth[node] - 1
        codes[node, :d] = codes[up, :d]
        points[node, :d] = points[up, :d]
        codes[node, d] = bit[node]
        points[node, d] = up - v
    sorted_to_id = np.empty(v, dtype=np.int64)
    sorted_to_id[order] = np.arange(v)  # original id -> sorted position
    rows = sorted_to_id
    lengths = depth[:v][rows]
    mask = np.arange(length)[None, :] < lengths[:, None]
    return HuffmanTree(codes=codes[:v][rows], points=points[:v][rows], mask=mask, lengths=lengths)


__all__ = ["HuffmanTree", "huffman_tree"]
