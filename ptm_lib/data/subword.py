"""What the book's two subword tokenizers share: a thin wrapper around a trained ``tokenizers.Tokenizer``.

:class:`ptm_lib.data.bpe.Tokenizer` (GPT's byte-pair encoding, chapter 6) and
:class:`ptm_lib.data.wordpiece.WordPieceTokenizer` (BERT's WordPiece, chapter 7) differ in
how they cut words and which special tokens they add. Looking tokens up, saving and loading
are the same, and live here.
"""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer as _BackendTokenizer


class SubwordTokenizer:
    """A trained ``tokenizers`` pipeline, kept as ``backend``, with clear errors for bad lookups."""

    piece_hint = "tokens(text) shows how a text is split"  # subclasses say how their pieces are marked
    trainer = "training one"  # subclasses name the function that makes one

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
            raise ValueError(f"id {token_id} is outside the vocabulary 0..{self.vocab_size - 1}")
        return token

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


__all__ = ["SubwordTokenizer"]
