"""Byte-pair encoding: the subword vocabulary of GPT (chapter 6) and of the models after it.

A word-level vocabulary (chapters 2-4) must either be huge or map rare words to
``<unk>``.  Sennrich, Haddow and Birch (2016, "Neural Machine Translation of Rare Words
with Subword Units", section 3.2 and their algorithm 1) borrowed *byte-pair encoding*, a
compression method, to build a vocabulary of subwords instead:

1. write every word as a sequence of characters, marking the last one with ``</w>``
   (so ``low`` is ``l o w</w>``: the ``w`` that ends a word differs from the ``w`` in
   ``lower``, and decoding knows where the spaces go);
2. count every pair of adjacent symbols, each word weighted by its corpus frequency;
3. *merge* the most frequent pair everywhere into one new symbol (``e s`` -> ``es``)
   and write the merge down;
4. repeat ``num_merges`` times.

The vocabulary is the alphabet plus one symbol per merge.  A new word is segmented by
replaying the merges in the order they were learned (:func:`apply_bpe`), so frequent
words end up as one symbol and rare words as a few frequent pieces: nothing is ever out of
vocabulary unless it holds a character never seen in training.

Two implementations live here:

* :func:`learn_bpe` / :func:`apply_bpe` -- a short, readable teaching version of the
  algorithm above, in pure Python, for small examples;
* :func:`train_bpe` -- the same algorithm run by Hugging Face's ``tokenizers`` library
  (written in Rust, seconds for the book's 1.1M-word corpus), wrapped in our small
  :class:`BPETokenizer`.  GPT (Radford et al. 2018, section 3.3 and figure 1) adds special
  tokens for its input transformations: a start token, a delimiter between two texts and
  an *extract* token whose final hidden state feeds the task head; :data:`SPECIALS` puts
  them, with padding and the unknown token, at ids 0..4.

The two agree merge for merge when the most frequent pair is unique at every step; they
only differ in how they break ties (see :func:`learn_bpe`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from tokenizers import Tokenizer as _BackendTokenizer
from tokenizers import decoders, models, pre_tokenizers, trainers

from .subword import SubwordTokenizer, UnknownTextWarning, check_text, check_texts  # noqa: F401 (re-exported)

SPECIALS = ("<pad>", "<unk>", "<s>", "<$>", "<e>")
"""Padding, unknown, start, delimiter and extract tokens (GPT's input transformations);
a trained :class:`BPETokenizer` gives them ids 0..4 in this order."""

END_OF_WORD = "</w>"

Pair = tuple[str, str]

# ---------------------------------------------------------------------------- teaching version


def word_symbols(word: str) -> tuple[str, ...]:
    """``"low"`` -> ``("l", "o", "w</w>")``: characters, the last marked as word-final."""
    if not word or any(ch.isspace() for ch in word):
        raise ValueError(f"a word must be non-empty and hold no whitespace, got {word!r}; "
                         "split text into words first (e.g. text.split())")
    return (*word[:-1], word[-1] + END_OF_WORD)


def pair_counts(words: Mapping[tuple[str, ...], int]) -> Counter[Pair]:
    """How often each adjacent symbol pair occurs, each word weighted by its count.

    ``words`` maps a word's symbols to its frequency, e.g. ``{("l", "o", "w</w>"): 5}``.
    """
    counts: Counter[Pair] = Counter()
    for symbols, count in words.items():
        for pair in zip(symbols, symbols[1:]):
            counts[pair] += count
    return counts


def merge_pair(symbols: Sequence[str], pair: Pair) -> tuple[str, ...]:
    """Replace every occurrence of ``pair`` in ``symbols`` by one joined symbol, scanning
    left to right (so ``a a a`` with ``(a, a)`` gives ``aa a``)."""
    out, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
            out.append(symbols[i] + symbols[i + 1])
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return tuple(out)


def learn_bpe(word_counts: Mapping[str, int], num_merges: int) -> list[Pair]:
    """Learn ``num_merges`` BPE merges from ``{word: count}`` (Sennrich et al. 2016).

    At each step the pair with the highest frequency-weighted count is merged.  **Ties**
    go to the lexicographically smallest pair (compared as ``(left, right)`` strings), so
    the result does not depend on dictionary order.  (``tokenizers`` breaks ties by its
    internal symbol ids instead, which is why the two implementations can differ after a
    tie, and only then.)  Learning stops early when no word has two symbols left.

    Returns the merges in the order learned, e.g. ``[("e", "s"), ("es", "t</w>"), ...]``.
    Each step recounts every pair: fine for teaching, too slow for a real corpus (use
    :func:`train_bpe`).
    """
    if not isinstance(word_counts, Mapping):
        raise TypeError(f"learn_bpe takes a {{word: count}} mapping, got {type(word_counts).__name__}; count the "
                        "words first, e.g. collections.Counter(text.split())")
    if num_merges < 0:
        raise ValueError(f"num_merges must be >= 0, got {num_merges}")
    if not word_counts:
        raise ValueError("word_counts is empty; BPE needs at least one word to learn from")
    for word, count in word_counts.items():
        if count < 1:
            raise ValueError(f"word counts must be positive integers, got {word!r}: {count}")
    words = {word_symbols(w): c for w, c in word_counts.items()}
    merges: list[Pair] = []
    for _ in range(num_merges):
        counts = pair_counts(words)
        if not counts:
            break
        best = min(counts, key=lambda pair: (-counts[pair], pair))
        merges.append(best)
        words = {merge_pair(symbols, best): c for symbols, c in words.items()}
    return merges


def apply_bpe(word: str, merges: Sequence[Pair]) -> list[str]:
    """Segment ``word`` with learned ``merges``: ``"lowest"`` -> ``["low", "est</w>"]``.

    Start from the characters and repeatedly apply, among the pairs present in the word,
    the merge that was learned *first* (lowest rank), until no learned merge applies.
    Characters never seen in training simply stay single symbols here; :class:`BPETokenizer`
    maps them to ``<unk>``.
    """
    rank = {pair: i for i, pair in enumerate(merges)}
    symbols = word_symbols(word)
    while len(symbols) > 1:
        present = [pair for pair in zip(symbols, symbols[1:]) if pair in rank]
        if not present:
            break
        symbols = merge_pair(symbols, min(present, key=rank.__getitem__))
    return list(symbols)


# ---------------------------------------------------------------------------- tokenizers version


class BPETokenizer(SubwordTokenizer):
    """A thin, readable wrapper around a trained ``tokenizers.Tokenizer`` (BPE).

    Build one with :func:`train_bpe` or :meth:`load`, or wrap a ``tokenizers`` tokenizer
    (kept as ``backend``, e.g. for ``backend.to_str()``).  The special tokens are the
    backend's added special tokens in id order; the first five play the roles of
    :data:`SPECIALS`: ``pad_id``, ``unk_id``, ``start_id``, ``delim_id``, ``extract_id``.

    Text is split on whitespace and each word segmented into subwords; ``decode`` turns
    ``</w>`` back into spaces, so ``decode(encode(text))`` restores text whose words are
    separated by single spaces (the book's normalised text).  Special tokens written in
    the text (``"<s>"``) are recognised whole, never split.  Characters not seen in
    training become ``<unk>``, which ``decode`` drops; so that they never vanish unnoticed,
    ``encode`` warns (:class:`~ptm_lib.data.subword.UnknownTextWarning`) naming them, unless
    told otherwise with ``on_unknown``. The book's tokenizer was trained on lower-cased text
    without punctuation: ``"The"`` loses its ``T`` and ``"5%"`` its ``%``.
    """

    piece_hint = f"word-final pieces end in {END_OF_WORD!r}, and tokens(text) shows how a text is split"
    trainer = "train_bpe"

    def __init__(self, backend: _BackendTokenizer):
        super().__init__(backend)
        added = backend.get_added_tokens_decoder()
        self.specials = tuple(added[i].content for i in sorted(added) if added[i].special)
        if len(self.specials) < len(SPECIALS):
            raise ValueError(
                f"the tokenizer has {len(self.specials)} special tokens {self.specials}, but "
                f"needs {len(SPECIALS)} (pad, unk, start, delimiter, extract, as in "
                f"SPECIALS={SPECIALS}); train it with train_bpe(texts, specials=...)")
        (self.pad_id, self.unk_id, self.start_id,
         self.delim_id, self.extract_id) = (self.token_to_id(t) for t in self.specials[:5])

    def __repr__(self) -> str:
        return f"BPETokenizer(vocab_size={self.vocab_size}, specials={self.specials})"

    @property
    def merges(self) -> list[Pair]:
        """The learned merges, in order (same format as :func:`learn_bpe`)."""
        raw = json.loads(self.backend.to_str())["model"]["merges"]
        return [tuple(m) if isinstance(m, list) else tuple(m.split(" ", 1)) for m in raw]

    def _describe_unknown(self, part: str) -> str:
        if self.backend.token_to_id(part) is not None:  # seen inside words, never at the end of one
            return f"{part!r} at the end of a word"
        return repr(part)

    def encode(self, text: str, on_unknown: str = "warn") -> list[int]:
        """Token ids of ``text`` (no special tokens are added).

        Characters the tokenizer cannot represent become ``<unk>``; ``on_unknown`` says what
        happens then: ``"warn"`` (one :class:`~ptm_lib.data.subword.UnknownTextWarning`
        naming them), ``"error"`` (``ValueError``) or ``"ignore"``. The ids are the same.
        """
        check_text(text)
        encoding = self.backend.encode(text)
        ids = encoding.ids
        self._report_unknown([encoding], [ids], [text], on_unknown)
        return ids

    def encode_batch(self, texts: Sequence[str], on_unknown: str = "warn") -> list[list[int]]:
        """:meth:`encode` of each text (run in parallel by ``tokenizers``); at most one
        warning for the whole batch."""
        texts = check_texts(texts, "encode_batch()")
        encodings = self.backend.encode_batch(texts)
        ids = [e.ids for e in encodings]
        self._report_unknown(encodings, ids, texts, on_unknown)
        return ids

    def decode(self, ids: Sequence[int], skip_specials: bool = True) -> str:
        """Text of ``ids`` (a list, array or tensor; a ``(1, T)`` batch of one, as
        ``GPT.generate`` returns, is read as its row); special tokens are dropped unless
        ``skip_specials=False``."""
        return self._decode(ids, skip_specials)

    def tokens(self, text: str) -> list[str]:
        """The subword strings of ``text``, e.g. ``["low", "est</w>"]``."""
        return self.backend.encode(text).tokens


def train_bpe(texts: Iterable[str], vocab_size: int = 2000,
              specials: Sequence[str] = SPECIALS) -> BPETokenizer:
    """Learn a BPE tokenizer of ``vocab_size`` tokens from ``texts`` with ``tokenizers``.

    ``texts`` are strings whose words are separated by whitespace; the book's corpus is
    already lowercased and tokenised (``" ".join(words)`` per document), and the tokenizer
    does not lowercase, so normalise other text the same way first.  ``specials`` get ids
    ``0..len(specials)-1``; then come the alphabet (every character, and every character
    as a word end ``x</w>``) and one token per merge.  Training on the 1.1M-word
    pretraining corpus at ``vocab_size=2000`` took 1.5 s on one CPU core (0.8 s on two);
    it then encodes the corpus as 2.07M tokens, about 1.8 per word.
    """
    texts = [t for t in check_texts(texts, "train_bpe") if t and not t.isspace()]
    if not texts:
        raise ValueError("the corpus is empty (no text holds a word); train_bpe needs text: pass a list of "
                         "documents, e.g. ptm_lib.pretrain.gpt.corpus_texts()")
    if not isinstance(vocab_size, int) or vocab_size < 1:
        raise ValueError(f"vocab_size must be a positive number of tokens, got {vocab_size!r}; pass e.g. "
                         "vocab_size=2000.")
    if len(set(specials)) != len(specials) or len(specials) < len(SPECIALS):
        raise ValueError(f"specials must be {len(SPECIALS)} or more distinct tokens "
                         f"(pad, unk, start, delimiter, extract first), got {tuple(specials)}")
    trained = _bpe_backend(models.BPE(unk_token=specials[1], end_of_word_suffix=END_OF_WORD))
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(specials),
                                  end_of_word_suffix=END_OF_WORD, show_progress=False)
    trained.train_from_iterator(texts, trainer)
    if trained.get_vocab_size() > vocab_size:
        raise ValueError(
            f"vocab_size={vocab_size} is too small: the {len(specials)} specials and the "
            f"alphabet of this corpus already take {trained.get_vocab_size()} tokens; use a "
            "vocab_size at least that large")
    return BPETokenizer(_renumbered(trained, specials))


def _bpe_backend(model) -> _BackendTokenizer:
    """A ``tokenizers`` pipeline around a BPE ``model``: whitespace split, ``</w>`` decoding."""
    backend = _BackendTokenizer(model)
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    backend.decoder = decoders.BPEDecoder(suffix=END_OF_WORD)
    return backend


def _renumbered(trained: _BackendTokenizer, specials: Sequence[str]) -> _BackendTokenizer:
    """The same merges with reproducible ids: specials, the sorted alphabet, then one id per merge.

    ``tokenizers`` numbers the alphabet in hash-map order, which changes from one process
    to the next; the merges themselves are the same. Token ids index a model's embedding
    matrix, so a tokenizer trained twice on the same text must give the same ids.
    """
    merges = BPETokenizer(trained).merges
    merged = [a + b for a, b in merges]
    alphabet = sorted(set(trained.get_vocab()) - set(specials) - set(merged))
    vocab = {token: i for i, token in enumerate([*specials, *alphabet, *dict.fromkeys(merged)])}
    backend = _bpe_backend(models.BPE(vocab=vocab, merges=merges, unk_token=specials[1],
                                      end_of_word_suffix=END_OF_WORD))
    backend.add_special_tokens(list(specials))
    return backend


__all__ = ["SPECIALS", "END_OF_WORD", "word_symbols", "pair_counts", "merge_pair", "learn_bpe", "apply_bpe",
           "BPETokenizer", "train_bpe", "UnknownTextWarning"]
