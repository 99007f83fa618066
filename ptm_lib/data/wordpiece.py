"""WordPiece: BERT's subword vocabulary (chapter 7).

Like byte-pair encoding (:mod:`ptm_lib.data.bpe`, chapter 6), WordPiece cuts rare words
into frequent pieces so that a vocabulary of ~30,000 units covers any text. It comes from
Schuster & Nakajima (2012, "Japanese and Korean Voice Search", section 3.1) and was used
for translation by Wu et al. (2016, Google's NMT system, section 4.1); BERT (Devlin et al.
2019, section 3) uses a 30,000-token WordPiece vocabulary. Two things differ from BPE:

* **how the vocabulary is learned.** Both start from characters and repeatedly join two
  units into one. BPE joins the *most frequent* pair. Schuster & Nakajima join the pair
  that most increases the likelihood of the training text under a unigram model of the
  units; for a pair ``(a, b)`` that gain grows with ``count(ab) / (count(a) count(b))``, so
  a pair of rare units that always occur together wins over a pair of very common ones.
  (The ``tokenizers`` library's ``WordPieceTrainer``, which :func:`train_wordpiece` uses,
  actually learns the joins with its BPE trainer, by frequency, and then encodes like
  WordPiece.)
* **how a word is cut.** WordPiece stores no list of merges: it keeps only the vocabulary
  and cuts each word *greedily, longest match first* (Google's ``tokenization.py``): take
  the longest vocabulary entry that starts the word, then the longest that continues it,
  and so on; pieces that continue a word are written with a ``##`` prefix (``playing`` ->
  ``play ##ing``). If some part of the word matches nothing, the whole word becomes
  ``[UNK]``. :func:`wordpiece` is that loop.

Before the cut, BERT's "basic tokenizer" cleans the text (drops control characters),
lowercases it and strips accents (the *uncased* models), puts spaces around every CJK
character, so that Chinese is read one character at a time, and splits off every
punctuation mark (:func:`normalise`, :func:`pre_tokenize`, :func:`greedy_tokenize`).

BERT's special tokens are ``[PAD]``, ``[UNK]``, ``[CLS]`` (first token; its final vector
summarises the input), ``[SEP]`` (ends each segment) and ``[MASK]`` (the masked LM's blank).
:class:`WordPieceTokenizer` wraps a ``tokenizers`` tokenizer with these: :func:`train_wordpiece`
learns one from the book's corpus, :func:`load_minilm_tokenizer` reads the uncased
30,522-token vocabulary that came with the MiniLM weights (:func:`ptm_lib.pretrained.load_minilm`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from tokenizers import Tokenizer as _BackendTokenizer
from tokenizers import decoders, models, normalizers, pre_tokenizers, processors, trainers

from .subword import SubwordTokenizer, check_text, check_texts

SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
"""BERT's special tokens; a tokenizer from :func:`train_wordpiece` gives them ids 0..4."""

PREFIX = "##"
MAX_CHARS = 100  # longer "words" become [UNK] (Google's max_input_chars_per_word)

# --------------------------------------------------------------------------- teaching version


def wordpiece(word: str, vocab: Mapping[str, int] | set[str], unk: str = "[UNK]") -> list[str]:
    """Cut one ``word`` into vocabulary pieces, greedy longest-match-first.

    ``"unaffable"`` -> ``["una", "##ffa", "##ble"]`` with a vocabulary holding those pieces.
    Pieces after the first carry the ``##`` prefix. A word with a part that matches no
    entry, or longer than 100 characters, is ``[unk]`` (``unk``).
    """
    if len(word) > MAX_CHARS:
        return [unk]
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:  # try the longest candidate first
            piece = word[start:end] if start == 0 else PREFIX + word[start:end]
            if piece in vocab:
                break
            end -= 1
        else:
            return [unk]  # nothing matches from `start` on
        pieces.append(piece)
        start = end
    return pieces


def is_cjk(char: str) -> bool:
    """True for a CJK ideograph (the Unicode blocks BERT's tokenizer lists)."""
    cp = ord(char)
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def is_punctuation(char: str) -> bool:
    """BERT's punctuation: every non-alphanumeric ASCII symbol, and Unicode's ``P*`` classes."""
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def normalise(text: str, lowercase: bool = True) -> str:
    """BERT's text cleaning: drop control characters, turn any white space into a space,
    surround CJK characters with spaces, and (``lowercase``) lowercase and strip accents."""
    out = []
    for char in text:
        if char in "\t\n\r" or unicodedata.category(char) == "Zs":
            out.append(" ")
        elif char == "\x00" or char == "\ufffd" or unicodedata.category(char).startswith("C"):
            continue
        elif is_cjk(char):
            out.append(f" {char} ")
        else:
            out.append(char)
    text = "".join(out)
    if lowercase:
        text = "".join(c for c in unicodedata.normalize("NFD", text.lower()) if unicodedata.category(c) != "Mn")
    return text


def pre_tokenize(text: str) -> list[str]:
    """Split normalised text into words at white space, each punctuation mark its own word."""
    words = []
    for chunk in text.split():
        word = ""
        for char in chunk:
            if is_punctuation(char):
                words += [word, char] if word else [char]
                word = ""
            else:
                word += char
        if word:
            words.append(word)
    return words


def greedy_tokenize(text: str, vocab: Mapping[str, int] | set[str], lowercase: bool = True,
                    unk: str = "[UNK]") -> list[str]:
    """BERT's whole tokenizer in three lines: :func:`normalise`, :func:`pre_tokenize`, then
    :func:`wordpiece` on every word. Returns the pieces (no ``[CLS]``/``[SEP]``)."""
    return [piece for word in pre_tokenize(normalise(text, lowercase)) for piece in wordpiece(word, vocab, unk)]


def read_vocab(path) -> dict[str, int]:
    """A ``vocab.txt`` (one token per line, the line number is its id) -> ``{token: id}``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no vocabulary file at {path}; a WordPiece vocab.txt has one token per line.")
    tokens = path.read_text(encoding="utf-8").split("\n")
    if tokens and tokens[-1] == "":
        tokens.pop()
    return {token: i for i, token in enumerate(tokens)}


# --------------------------------------------------------------------------- tokenizers version


class WordPieceTokenizer(SubwordTokenizer):
    """A thin wrapper around a ``tokenizers`` WordPiece tokenizer with BERT's special tokens.

    ``encode(text)`` gives ``[CLS] text [SEP]`` ids, ``encode_pair(a, b)`` the ids and segment
    ids of ``[CLS] a [SEP] b [SEP]``; ``pad_id``, ``unk_id``, ``cls_id``, ``sep_id`` and
    ``mask_id`` are the ids of :data:`SPECIALS` (found by name, so any BERT vocabulary
    works: MiniLM's has ``[PAD]`` at 0 and ``[CLS]`` at 101). The wrapped tokenizer is kept
    as ``backend``; its truncation and padding are switched off (pad batches yourself).
    """

    piece_hint = "pieces that continue a word start with '##', and tokens(text) shows how a text is cut"
    trainer = "train_wordpiece"

    def __init__(self, backend: _BackendTokenizer):
        super().__init__(backend)
        backend.no_truncation()
        backend.no_padding()
        self.pad_id, self.unk_id, self.cls_id, self.sep_id, self.mask_id = (self._special_id(t) for t in SPECIALS)
        backend.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
            special_tokens=[("[CLS]", self.cls_id), ("[SEP]", self.sep_id)])

    def _special_id(self, token: str) -> int:
        token_id = self.backend.token_to_id(token)
        if token_id is None:
            raise ValueError(f"the vocabulary has no {token}; a BERT tokenizer needs all of {SPECIALS} "
                             "(train one with train_wordpiece).")
        return token_id

    @property
    def special_ids(self) -> tuple[int, ...]:
        """The ids of ``[PAD] [UNK] [CLS] [SEP] [MASK]``, in that order."""
        return (self.pad_id, self.unk_id, self.cls_id, self.sep_id, self.mask_id)

    def __repr__(self) -> str:
        return f"WordPieceTokenizer(vocab_size={self.vocab_size})"

    @property
    def vocab(self) -> dict[str, int]:
        """``{token: id}`` for the whole vocabulary."""
        return self.backend.get_vocab()

    def encode(self, text: str, add_specials: bool = True, on_unknown: str = "ignore") -> list[int]:
        """Ids of ``[CLS] text [SEP]`` (of ``text`` alone with ``add_specials=False``).

        A word with a part the vocabulary lacks becomes ``[UNK]`` (BERT's convention: it
        stays in the ids and in :meth:`tokens`, and the model reads it), so ``on_unknown``
        defaults to ``"ignore"``; ``"warn"`` names such words
        (:class:`~ptm_lib.data.subword.UnknownTextWarning`) and ``"error"`` refuses them.
        """
        check_text(text)
        encoding = self.backend.encode(text, add_special_tokens=add_specials)
        ids = encoding.ids
        self._report_unknown([encoding], [ids], [text], on_unknown)
        return ids

    def encode_pair(self, a: str, b: str) -> tuple[list[int], list[int]]:
        """Ids of ``[CLS] a [SEP] b [SEP]`` and their segment ids (0 for ``[CLS] a [SEP]``, 1 after)."""
        check_text(a, "encode_pair()'s first text")
        check_text(b, "encode_pair()'s second text")
        encoding = self.backend.encode(a, b)
        return encoding.ids, encoding.type_ids

    def encode_batch(self, texts: Sequence[str], add_specials: bool = True,
                     on_unknown: str = "ignore") -> list[list[int]]:
        """:meth:`encode` of each text (run in parallel by ``tokenizers``)."""
        texts = check_texts(texts, "encode_batch()")
        encodings = self.backend.encode_batch(texts, add_special_tokens=add_specials)
        ids = [e.ids for e in encodings]
        self._report_unknown(encodings, ids, texts, on_unknown)
        return ids

    def tokens(self, text: str, add_specials: bool = False) -> list[str]:
        """The pieces of ``text``, e.g. ``["play", "##ing"]``."""
        return self.backend.encode(text, add_special_tokens=add_specials).tokens

    def decode(self, ids: Sequence[int], skip_specials: bool = True) -> str:
        """Text of ``ids``: ``##`` pieces are glued to the previous piece; specials dropped
        unless ``skip_specials=False``. ``ids`` is a list, array or tensor; a ``(1, T)`` batch
        of one is read as its row."""
        return self._decode(ids, skip_specials)



def train_wordpiece(texts: Iterable[str], vocab_size: int = 2000, lowercase: bool = True) -> WordPieceTokenizer:
    """Learn a WordPiece vocabulary of ``vocab_size`` tokens from ``texts`` with ``tokenizers``.

    The pipeline is BERT's: :func:`normalise` (``lowercase``, strip accents, split CJK),
    :func:`pre_tokenize`, then WordPiece pieces with ``##``. :data:`SPECIALS` get ids 0..4,
    then come the characters and the learned pieces.
    """
    texts = [t for t in check_texts(texts, "train_wordpiece") if t and not t.isspace()]
    if not texts:
        raise ValueError("the corpus is empty (no text holds a word); train_wordpiece needs text: pass a list of "
                         "documents, e.g. ptm_lib.pretrain.gpt.corpus_texts()")
    if not isinstance(vocab_size, int) or vocab_size < 1:
        raise ValueError(f"vocab_size must be a positive number of tokens, got {vocab_size!r}; pass e.g. "
                         "vocab_size=2000.")
    backend = _BackendTokenizer(models.WordPiece(unk_token="[UNK]", continuing_subword_prefix=PREFIX,
                                                 max_input_chars_per_word=MAX_CHARS))
    backend.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                                    lowercase=lowercase)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece(prefix=PREFIX)
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=list(SPECIALS),
                                        continuing_subword_prefix=PREFIX, show_progress=False)
    backend.train_from_iterator(texts, trainer)
    if backend.get_vocab_size() > vocab_size:
        raise ValueError(f"vocab_size={vocab_size} is too small: the specials and the characters of this corpus "
                         f"already take {backend.get_vocab_size()} tokens; use a vocab_size at least that large")
    return WordPieceTokenizer(backend)


def minilm_files() -> Path:
    """The folder of the MiniLM weights and vocabulary (data hub source ``minilm``)."""
    from ptm_lib.data import sources

    return sources.path("minilm", "model")


def load_minilm_tokenizer() -> WordPieceTokenizer:
    """The uncased WordPiece tokenizer (30,522 tokens) that came with the MiniLM weights."""
    return WordPieceTokenizer.load(minilm_files() / "tokenizer.json")


__all__ = ["SPECIALS", "wordpiece", "is_cjk", "is_punctuation", "normalise", "pre_tokenize", "greedy_tokenize",
           "read_vocab", "WordPieceTokenizer", "train_wordpiece", "load_minilm_tokenizer", "minilm_files"]
