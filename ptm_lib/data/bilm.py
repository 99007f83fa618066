"""Chapter 4's biLM data: the word vocabulary, character ids and padded batches ELMo reads.

The inputs of :class:`ptm_lib.models.elmo.BiLM` (Peters et al. 2018), as ``data.lm`` holds
GPT's and ``data.mlm`` BERT's. A token reaches the biLM twice:

* as a **word id** of the softmax vocabulary (:func:`build_vocab`: the words seen at least
  ``min_count`` times, plus ``<unk> <pad> <s> </s>``; ``<pad>`` is id 1), which the output
  layer predicts and the ``"word"`` encoder embeds;
* as **character ids** (:func:`char_ids`): the word's UTF-8 bytes (byte ``b`` is ``b + 1``)
  between a begin-of-word and an end-of-word mark, padded with 0 to ``max_chars``, which
  the ``"char"`` encoder reads. ``<s>`` and ``</s>`` get marks of their own. Every string
  has character ids, so a word outside the vocabulary still gets its own vector.

:func:`encode_batch` turns token lists into a right-padded batch ``(words, chars)`` for
running the model, and :func:`corpus_windows` cuts a corpus into the fixed-length windows
it is pretrained on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch

from .vocab import Vocab

SPECIALS = ("<unk>", "<pad>", "<s>", "</s>")  # word vocabulary specials; <pad> is id 1
BOS, EOS = "<s>", "</s>"
# Character ids: 0 pads a word, byte b is b + 1, then four marks (as in ELMo's encoder).
PAD_CHAR, BOW, EOW, BOS_CHAR, EOS_CHAR = 0, 257, 258, 259, 260
N_CHARS = 261


def char_ids(word: str, max_chars: int = 20) -> list[int]:
    """The character ids of one word: ``[BOW, byte+1, ..., EOW, 0, ...]``, length ``max_chars``.

    Bytes of the UTF-8 encoding, so every string has ids (no unknown characters); a word
    longer than ``max_chars - 2`` bytes is cut. ``<s>``/``</s>`` get their own marks, and
    ``<pad>`` is all zeros (a padding position).
    """
    if max_chars < 3:
        raise ValueError(f"max_chars must be at least 3 (BOW, one character, EOW), got {max_chars}.")
    if word == SPECIALS[1]:
        return [PAD_CHAR] * max_chars
    if word in (BOS, EOS):
        inner = [BOS_CHAR if word == BOS else EOS_CHAR]
    else:
        inner = [b + 1 for b in word.encode("utf-8")[: max_chars - 2]]
    ids = [BOW, *inner, EOW]
    return ids + [PAD_CHAR] * (max_chars - len(ids))


def build_vocab(documents: Iterable[Iterable[str]], min_count: int = 5, max_size: int | None = None) -> Vocab:
    """The biLM's word vocabulary (the softmax's words) with specials ``<unk> <pad> <s> </s>``."""
    return Vocab.build(documents, min_count=min_count, max_size=max_size, specials=SPECIALS)


def pad_id_of(vocab: Vocab) -> int:
    """The id of ``<pad>`` in ``vocab``, or a clear error if it was built without it."""
    if SPECIALS[1] not in vocab.stoi:
        raise ValueError("The vocabulary has no <pad> token; build it with ptm_lib.data.bilm.build_vocab().")
    return vocab.stoi[SPECIALS[1]]


def encode_batch(sentences: Sequence[Sequence[str]], vocab: Vocab, max_chars: int = 20,
                 boundaries: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Token lists -> a right-padded batch ``(words (B, T) int64, chars (B, T, max_chars) int64)``.

    ``words`` holds vocabulary ids (rare words -> ``<unk>``, padding -> ``<pad>``); ``chars``
    holds :func:`char_ids` of the *actual* strings, so the character encoder still sees a
    word the vocabulary lacks. ``boundaries=True`` wraps each sentence in ``<s> ... </s>``.
    """
    if isinstance(sentences, str) or not sentences or any(isinstance(s, str) for s in sentences):
        raise ValueError("encode_batch wants a non-empty list of token lists, e.g. [['the', 'cat'], ['a', 'dog']].")
    rows = [([BOS] if boundaries else []) + list(s) + ([EOS] if boundaries else []) for s in sentences]
    if any(len(r) == 0 for r in rows):
        raise ValueError("A sentence is empty; drop empty sentences before encoding.")
    pad, T = pad_id_of(vocab), max(len(r) for r in rows)
    words = torch.full((len(rows), T), pad, dtype=torch.long)
    chars = torch.zeros(len(rows), T, max_chars, dtype=torch.long)
    for b, row in enumerate(rows):
        words[b, : len(row)] = torch.from_numpy(vocab.encode(row))
        chars[b, : len(row)] = torch.tensor([char_ids(w, max_chars) for w in row])
    return words, chars


def corpus_windows(documents: Iterable[Sequence[str]], vocab: Vocab, length: int,
                   max_chars: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
    """Pretraining rows: the documents' tokens, one after another, cut into windows of ``length``.

    Returns ``words`` ``(N, length)`` int64 and ``chars`` ``(N, length, max_chars)`` int16
    (the characters of each distinct word are computed once); a tail shorter than a window
    is dropped. Windows run across document boundaries, as a stream LM's do.
    """
    types: dict[str, int] = {}
    stream = np.fromiter((types.setdefault(w, len(types)) for doc in documents for w in doc), dtype=np.int64)
    n = len(stream) // length
    if n == 0:
        raise ValueError(f"The corpus has {len(stream)} tokens, fewer than one window of {length}.")
    names = list(types)
    word_of_type = vocab.encode(names)
    chars_of_type = np.array([char_ids(w, max_chars) for w in names], dtype=np.int16)
    rows = stream[: n * length].reshape(n, length)
    return torch.from_numpy(word_of_type[rows]), torch.from_numpy(chars_of_type[rows])


__all__ = ["SPECIALS", "BOS", "EOS", "PAD_CHAR", "BOW", "EOW", "BOS_CHAR", "EOS_CHAR", "N_CHARS",
           "char_ids", "build_vocab", "pad_id_of", "encode_batch", "corpus_windows"]
