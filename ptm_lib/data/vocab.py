"""A word vocabulary: the word <-> id mapping every model from the NNLM to BERT needs.

Ids are deterministic: the special tokens come first, then the words by descending
count, ties broken alphabetically, so two runs on the same corpus agree id for id.
Words seen fewer than ``min_count`` times (or beyond ``max_size``) are folded into
``<unk>``, whose count is the total count of the dropped words, so ``counts`` still sums
to the corpus size (a unigram model built from it is a proper distribution).

:func:`check_ids` refuses token ids that a vocabulary (an embedding table, or a loss over
its classes) cannot look up, with an error that names the range and the fix; every model
of the book, from chapter 2's NNLM to BERT, checks its input with it.
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import torch

UNK = "<unk>"


class OutOfVocabularyError(KeyError):
    """A word is not in a vocabulary; the message names it and says what to try.

    It subclasses ``KeyError`` so ``except KeyError`` still catches it.
    """

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0]) if self.args else ""


def id_list(ids, size: int, fix: str = "decode ids with the vocabulary (or tokenizer) that encoded them") -> list[int]:
    """``ids`` (a list, array or tensor; a ``(1, T)`` batch of one is read as its row) as
    Python ints, each checked to lie in ``0 .. size - 1``.

    Floats are refused rather than truncated, and a negative id rather than read from the
    end of the vocabulary. Errors say what was wrong, the value and ``fix``.
    """
    if isinstance(ids, str):
        raise TypeError(f"expected a sequence of integer ids, got the string {ids[:40]!r}; {fix}.")
    if hasattr(ids, "ndim"):  # a NumPy array or a torch tensor
        ids = _one_row(ids)
        if not _integer_dtype(ids.dtype):
            raise TypeError(f"ids must be integers, got dtype {ids.dtype}; {fix}.")
        values = ids.tolist()
    else:
        try:
            values = [operator.index(i) for i in ids]
        except TypeError:
            bad = next(i for i in ids if not _is_index(i))
            raise TypeError(f"ids must be integers, got {bad!r} ({type(bad).__name__}); {fix}.") from None
    bad = [i for i in values if not 0 <= i < size]
    if bad:
        raise ValueError(f"ids {bad[:5]} are outside the vocabulary 0..{size - 1}; {fix}.")
    return values


def _one_row(ids):
    """A 1-D id array; a ``(1, T)`` batch of one (what ``GPT.generate`` returns) gives its row."""
    if ids.ndim == 2 and ids.shape[0] == 1:
        return ids[0]
    if ids.ndim != 1:
        raise ValueError(f"expected one sequence of ids, got an array of shape {tuple(ids.shape)}; pass one row "
                         "(ids[0]), or decode each row: [tok.decode(row) for row in ids].")
    return ids


def _integer_dtype(dtype) -> bool:
    """True for NumPy or torch integer dtypes (not floats, complex numbers or booleans)."""
    if isinstance(dtype, np.dtype):
        return dtype.kind in "iu"
    return not (dtype.is_floating_point or dtype.is_complex or str(dtype) == "torch.bool")


def _is_index(value) -> bool:
    try:
        operator.index(value)
    except TypeError:
        return False
    return True


def _refuse_string(tokens, what: str) -> None:
    if isinstance(tokens, str):
        raise TypeError(f"{what} takes a list of tokens, got the string {tokens[:40]!r}, whose characters would be "
                        "read as tokens; split it first, e.g. ptm_lib.data.text.tokenize(text).")


class Vocab:
    """Word <-> id mapping built from token counts, with ``<unk>`` and ``min_count``.

    ``counts`` maps each word to its corpus count.  The first special is the unknown
    token (``"<unk>"`` by default); a word equal to a special (e.g. the ``<unk>`` tokens
    already in the Penn Treebank) is not a separate entry: its count goes to the special.

    Attributes: ``itos`` (id -> word), ``stoi`` (word -> id), ``counts`` (int64 array,
    corpus count per id), ``unk_id``, ``min_count``, ``max_size``, ``specials``.

    ``specials=()`` makes a *closed* vocabulary, as word2vec uses: there is no unknown
    token (``unk_id`` is None), rare words are simply absent, :meth:`encode` raises on
    them and :meth:`encode_known` drops them.
    """

    def __init__(self, counts: Mapping[str, int], min_count: int = 1,
                 max_size: int | None = None, specials: Sequence[str] = (UNK,)):
        if not isinstance(counts, Mapping):
            raise TypeError(f"Vocab(counts) takes a {{word: count}} mapping, got {type(counts).__name__}; to count "
                            "the tokens of documents use Vocab.build(documents).")
        if len(set(specials)) != len(specials):
            raise ValueError(f"specials must be distinct, got {tuple(specials)}")
        if min_count < 1:
            raise ValueError(f"min_count must be >= 1, got {min_count}")
        if max_size is not None and max_size < 0:
            raise ValueError(f"max_size must be >= 0 or None, got {max_size}")
        self.specials = tuple(specials)
        self.min_count = min_count
        self.max_size = max_size
        special_counts = dict.fromkeys(self.specials, 0)
        words = []
        for word, count in counts.items():
            if word in special_counts:
                special_counts[word] += int(count)
            elif count > 0:
                words.append((word, int(count)))
        words.sort(key=lambda wc: (-wc[1], wc[0]))
        kept = [wc for wc in words if wc[1] >= min_count]
        if max_size is not None:
            kept = kept[:max_size]
        if self.specials:  # the unknown token stands for every dropped word
            special_counts[self.specials[0]] += sum(c for _, c in words) - sum(c for _, c in kept)
        self.itos: list[str] = list(self.specials) + [w for w, _ in kept]
        self.stoi: dict[str, int] = {w: i for i, w in enumerate(self.itos)}
        self.counts = np.array([special_counts[s] for s in self.specials]
                               + [c for _, c in kept], dtype=np.int64)
        self.unk_id: int | None = 0 if self.specials else None

    @classmethod
    def build(cls, documents: Iterable[Iterable[str]], min_count: int = 1,
              max_size: int | None = None, specials: Sequence[str] = (UNK,)) -> "Vocab":
        """Count the tokens of ``documents`` (token lists) and build a ``Vocab``."""
        _refuse_string(documents, "Vocab.build")
        counts: Counter[str] = Counter()
        for doc in documents:
            _refuse_string(doc, "Vocab.build: each document")
            counts.update(doc)
        return cls(counts, min_count=min_count, max_size=max_size, specials=specials)

    @property
    def unk(self) -> str | None:
        """The unknown-word token (the first special), or None in a closed vocabulary."""
        return None if self.unk_id is None else self.itos[self.unk_id]

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, word: object) -> bool:
        """True only for real entries (a word that would map to ``<unk>`` is not in)."""
        return word in self.stoi

    def __getitem__(self, word: str) -> int:
        """The id of ``word``, or ``unk_id`` when it is missing (an error if there is none)."""
        return self.index(word) if self.unk_id is None else self.stoi.get(word, self.unk_id)

    def index(self, word: str) -> int:
        """The id of ``word``; raises :class:`OutOfVocabularyError` when it is missing."""
        try:
            return self.stoi[word]
        except KeyError:
            raise OutOfVocabularyError(
                f"{word!r} is not in the vocabulary of {len(self):,} words "
                f"(min_count={self.min_count}). Check its spelling and case (the corpora "
                "are lowercased), or rebuild the vocabulary with a lower min_count."
            ) from None

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """Token list -> int64 id array (unknown words -> ``unk_id``; in a closed
        vocabulary they raise :class:`OutOfVocabularyError`: use :meth:`encode_known`)."""
        _refuse_string(tokens, "Vocab.encode")
        if self.unk_id is None:
            return np.fromiter((self.index(t) for t in tokens), dtype=np.int64)
        get, unk = self.stoi.get, self.unk_id
        return np.fromiter((get(t, unk) for t in tokens), dtype=np.int64)

    def encode_known(self, tokens: Iterable[str]) -> np.ndarray:
        """Token list -> int64 ids of the tokens in the vocabulary, dropping the others
        (what word2vec does with words below ``min_count``)."""
        _refuse_string(tokens, "Vocab.encode_known")
        get = self.stoi.get
        return np.fromiter((i for i in (get(t) for t in tokens) if i is not None), dtype=np.int64)

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Id sequence (list, array or tensor; a ``(1, T)`` batch of one is read as its row)
        -> token list. Ids must be integers in ``0 .. len(self) - 1``."""
        itos = self.itos
        return [itos[i] for i in id_list(ids, len(itos))]

    def frequencies(self) -> np.ndarray:
        """``counts`` normalised to sum to 1 (a unigram distribution over ids)."""
        total = self.counts.sum()
        return self.counts / total if total else self.counts.astype(np.float64)

    def __repr__(self) -> str:
        return (f"Vocab({len(self):,} entries, {int(self.counts.sum()):,} tokens, "
                f"min_count={self.min_count}, specials={self.specials})")


# --- checking ids against a vocabulary (every model of the book embeds through one) ---

RETOKENIZE = "encode the text with the tokenizer (or vocabulary) the model was trained with"


def check_ids(ids: torch.Tensor, size: int, what: str = "token ids", fix: str = RETOKENIZE,
              ignore: int | None = None, within: str = "the vocabulary", unit: str = "tokens in this model") -> None:
    """Refuse ids that an embedding table (or a loss) of ``size`` entries cannot look up.

    ``ids`` must be an integer tensor with every value in ``0 .. size - 1`` (``ignore``,
    e.g. -100 for skipped labels, is also allowed). Errors name the range (``within``, of
    ``size`` ``unit``) and ``fix``, where torch would say ``index out of range in self`` or
    ``Target 70 is out of bounds``. The cost is one min/max over ``ids``.
    """
    if not isinstance(ids, torch.Tensor):
        raise TypeError(f"{what} must be a tensor of integer ids, got {type(ids).__name__}; "
                        "wrap them with torch.tensor(...).")
    if ids.dtype.is_floating_point or ids.dtype.is_complex or ids.dtype == torch.bool:
        raise TypeError(f"{what} must be integer ids, got dtype {ids.dtype}; {fix} (ids are whole numbers, "
                        "e.g. torch.tensor(tokenizer.encode(text))).")
    values = ids[ids != ignore] if ignore is not None else ids
    if values.numel() == 0:
        return
    low, high = (int(v) for v in torch.aminmax(values))
    if low < 0 or high >= size:
        bad = low if low < 0 else high
        raise ValueError(f"{what} hold {bad}, outside {within} 0..{size - 1} ({size} {unit}); {fix}.")


__all__ = ["UNK", "OutOfVocabularyError", "id_list", "Vocab", "RETOKENIZE", "check_ids"]
