"""What the book's two subword tokenizers share: a thin wrapper around a trained ``tokenizers.Tokenizer``.

:class:`ptm_lib.data.bpe.BPETokenizer` (GPT's byte-pair encoding, chapter 6) and
:class:`ptm_lib.data.wordpiece.WordPieceTokenizer` (BERT's WordPiece, chapter 7) differ in
how they cut words and which special tokens they add. Looking tokens up, saving and loading
are the same, and live here.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

from tokenizers import Tokenizer as _BackendTokenizer

from .vocab import id_list

ON_UNKNOWN = ("warn", "error", "ignore")
"""What ``encode`` does with text it cannot represent: warn (:class:`UnknownTextWarning`),
raise ``ValueError``, or keep the unknown token silently."""


class UnknownTextWarning(UserWarning):
    """Part of a text is outside a tokenizer's alphabet: it became the unknown token, which
    ``decode`` drops. The message names the characters and what to do."""


def check_texts(texts, what: str) -> list[str]:
    """``texts`` as a list of strings; a bare string would be read as one text per character."""
    if isinstance(texts, str):
        raise TypeError(f"{what} takes a list of texts, got one string ({texts[:40]!r}), which would be read as one "
                        "text per character; pass [text].")
    texts = list(texts)
    for text in texts:
        check_text(text, f"each text given to {what}")
    return texts


def check_text(text, what: str = "encode()'s text") -> None:
    """Refuse a non-string where one text is expected."""
    if not isinstance(text, str):
        hint = ", e.g. ' '.join(tokens) for a token list" if isinstance(text, (list, tuple)) else ""
        raise TypeError(f"{what} must be a string, got {type(text).__name__} {text!r:.60}; pass the text as one "
                        f"str{hint}.")


class SubwordTokenizer:
    """A trained ``tokenizers`` pipeline, kept as ``backend``, with clear errors for bad lookups."""

    piece_hint = "tokens(text) shows how a text is split"  # subclasses say how their pieces are marked
    trainer = "training one"  # subclasses name the function that makes one
    unk_id: int  # set by subclasses

    def __init__(self, backend: _BackendTokenizer):
        self.backend = backend

    @property
    def vocab_size(self) -> int:
        """Number of tokens, specials included."""
        return self.backend.get_vocab_size()

    def __len__(self) -> int:
        return self.vocab_size

    def token_to_id(self, token: str) -> int:
        """The id of ``token``; ``ValueError`` if it is not in the vocabulary."""
        token_id = self.backend.token_to_id(token)
        if token_id is None:
            raise ValueError(f"token {token!r} is not in the vocabulary ({self.vocab_size} tokens); "
                             f"{self.piece_hint}")
        return token_id

    def id_to_token(self, token_id: int) -> str:
        """The token string of ``token_id``."""
        token = self.backend.id_to_token(int(token_id))
        if token is None:
            raise ValueError(f"id {token_id} is outside the vocabulary 0..{self.vocab_size - 1}; look up ids made "
                             "by this tokenizer (or by a model trained with it)")
        return token

    def _decode(self, ids, skip_specials: bool) -> str:
        """Text of ``ids`` (see :func:`ptm_lib.data.vocab.id_list` for what is accepted)."""
        values = id_list(ids, self.vocab_size, "decode ids made by this tokenizer (or by a model trained with it)")
        return self.backend.decode(values, skip_special_tokens=skip_specials)

    def _report_unknown(self, encodings: Sequence, ids: Sequence[list[int]], texts: Sequence[str],
                        on_unknown: str) -> None:
        """Warn about (or refuse) the parts of ``texts`` that became the unknown token.

        Only encodings holding ``unk_id`` are looked at, so text the tokenizer covers costs
        one scan of its ids. A special token written in the text (``"<unk>"``) is no loss.
        """
        if on_unknown not in ON_UNKNOWN:
            raise ValueError(f"on_unknown={on_unknown!r}; use one of {ON_UNKNOWN}.")
        if on_unknown == "ignore":
            return
        unk, unk_token = self.unk_id, self.backend.id_to_token(self.unk_id)
        lost = {}
        for encoding, row, text in zip(encodings, ids, texts):
            if unk in row:
                for i, (start, end) in zip(row, encoding.offsets):
                    if i == unk and text[start:end] != unk_token:
                        lost[text[start:end]] = None
        if not lost:
            return
        message = self._unknown_message(list(lost), unk_token)
        if on_unknown == "error":
            raise ValueError(message)
        warnings.warn(message, UnknownTextWarning, stacklevel=3)

    def _unknown_message(self, lost: list[str], unk_token: str) -> str:
        shown = ", ".join(self._describe_unknown(part) for part in lost[:10]) + (", ..." if len(lost) > 10 else "")
        if any(part != part.lower() and self.unk_id not in self.backend.encode(part.lower()).ids for part in lost):
            fix = ("The tokenizer was trained on lower-cased text: lower-case the text first (text.lower()) and drop "
                   "the symbols it never saw, e.g. ' '.join(ptm_lib.data.text.tokenize(text))")
        else:
            fix = ("They never occurred in the tokenizer's training text: replace or remove them "
                   "(' '.join(ptm_lib.data.text.tokenize(text)) normalises text the way the book's corpus was)")
        return (f"this tokenizer cannot represent {shown}: they became {unk_token}, which decode() drops. {fix}. "
                f"Pass on_unknown='ignore' to accept {unk_token} silently, or on_unknown='error' to refuse such text.")

    def _describe_unknown(self, part: str) -> str:
        """How a lost part of the text is named in the warning (subclasses add detail)."""
        return repr(part)

    def save(self, path) -> None:
        """Write the tokenizer to one JSON file (``tokenizers``' ``tokenizer.json`` format)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.backend.save(str(path))

    @classmethod
    def load(cls, path):
        """Read a tokenizer written by :meth:`save` (or by Hugging Face)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no tokenizer file at {path}; write one with {cls.__name__}.save(path) "
                                    f"(e.g. after {cls.trainer})")
        return cls(_BackendTokenizer.from_file(str(path)))


__all__ = ["SubwordTokenizer", "UnknownTextWarning", "ON_UNKNOWN", "check_text", "check_texts"]
