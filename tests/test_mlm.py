import random

import pytest
import torch

from ptm_lib.data.mlm import (
    PairExample,
    mask_for_mlm,
    nsp_pairs,
    pack_pair,
    pad_pairs,
    pretraining_batch,
    truncate_pair,
)
from ptm_lib.train import IGNORE

PAD, UNK, CLS, SEP, MASK = 0, 1, 2, 3, 4
SPECIALS = {PAD, UNK, CLS, SEP, MASK}
V = 500


def sequences(batch=4000, length=40, seed=0):
    """[CLS] a [SEP] b [SEP] [PAD]...: specials at fixed places, 30 or 34 real tokens per row."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, V, (batch, length), generator=g)
    ids[:, 0], ids[:, 15], ids[:, 31] = CLS, SEP, SEP
    ids[::2, 32:] = PAD  # even rows: 29 real tokens; odd rows: 37
    return ids


@pytest.fixture(scope="module")
def draw():
    ids = sequences()
    inputs, labels = mask_for_mlm(ids, V, SPECIALS, MASK, generator=torch.Generator().manual_seed(1))
    return ids, inputs, labels


def test_fifteen_percent_of_the_real_tokens_are_chosen(draw):
    ids, _, labels = draw
    chosen = labels != IGNORE
    eligible = ~torch.isin(ids, torch.tensor(sorted(SPECIALS)))
    assert eligible[0].sum() == 29 and eligible[1].sum() == 37
    assert torch.all(chosen[0::2].sum(1) == round(0.15 * 29))  # 4 of 29
    assert torch.all(chosen[1::2].sum(1) == round(0.15 * 37))  # 6 of 37
    assert not (chosen & ~eligible).any(), "[CLS], [SEP] and padding are never chosen"
    # every real position is equally likely: rate = k / n in each half
    rate = chosen[1::2][:, eligible[1]].float().mean(0)
    assert torch.allclose(rate, torch.full_like(rate, 6 / 37), atol=0.03)


def test_labels_are_the_original_ids_at_chosen_positions_only(draw):
    ids, inputs, labels = draw
    chosen = labels != IGNORE
    assert torch.equal(labels[chosen], ids[chosen])
    assert torch.equal(inputs[~chosen], ids[~chosen]), "tokens that are not chosen are never changed"


def test_eighty_ten_ten(draw):
    ids, inputs, labels = draw
    chosen = labels != IGNORE
    n = chosen.sum().item()
    masked = (inputs[chosen] == MASK).float().mean().item()
    kept = (inputs[chosen] == ids[chosen]).float().mean().item()
    random_ = ((inputs[chosen] != MASK) & (inputs[chosen] != ids[chosen])).float().mean().item()
    tolerance = 4 * (0.1 * 0.9 / n) ** 0.5  # four standard deviations of a 10% share
    assert n == 2000 * 4 + 2000 * 6
    assert abs(masked - 0.8) < 4 * (0.8 * 0.2 / n) ** 0.5
    assert abs(random_ - 0.1 * (1 - 1 / (V - 5))) < tolerance  # a random token can equal the original
    assert abs(kept - 0.1) < tolerance + 1e-3
    replaced = inputs[chosen & (inputs != MASK) & (inputs != ids)]
    assert not torch.isin(replaced, torch.tensor(sorted(SPECIALS))).any(), "random tokens are never special"
    assert replaced.unique().numel() > 0.9 * (V - 5), "random tokens come from the whole vocabulary"


def test_custom_proportions_and_rows_without_real_tokens():
    ids = sequences(50)
    ids[3] = PAD
    inputs, labels = mask_for_mlm(ids, V, SPECIALS, MASK, prob=0.5, proportions=(1.0, 0.0, 0.0))
    chosen = labels != IGNORE
    assert (inputs[chosen] == MASK).all()
    assert not chosen[3].any() and torch.equal(inputs[3], ids[3])
    assert chosen[1].sum() == round(0.5 * 37)
    tiny = torch.tensor([[CLS, 7, SEP]])  # 15% of one token rounds to 0: still one is chosen
    assert (mask_for_mlm(tiny, V, SPECIALS, MASK)[1] != IGNORE).sum() == 1


def test_reproducible_and_input_untouched():
    ids = sequences(20)
    copy = ids.clone()
    a = mask_for_mlm(ids, V, SPECIALS, MASK, generator=torch.Generator().manual_seed(3))
    b = mask_for_mlm(ids, V, SPECIALS, MASK, generator=torch.Generator().manual_seed(3))
    c = mask_for_mlm(ids, V, SPECIALS, MASK, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and not torch.equal(a[1], c[1])
    assert torch.equal(ids, copy)


@pytest.mark.parametrize("kwargs, message", [
    ({"prob": 0.0}, "prob"),
    ({"mask_id": V}, "mask_id"),
    ({"proportions": (0.8, 0.1, 0.2)}, "sum to 1"),
    ({"vocab_size": 10}, "ids must lie in"),
    ({"special_ids": range(V)}, "every id of the vocabulary is special"),
])
def test_mask_for_mlm_errors(kwargs, message):
    args = {"ids": sequences(2), "vocab_size": V, "special_ids": SPECIALS, "mask_id": MASK, **kwargs}
    with pytest.raises(ValueError, match=message):
        mask_for_mlm(**args)
    with pytest.raises(ValueError, match="batch, length"):
        mask_for_mlm(torch.tensor([5, 6]), V, SPECIALS, MASK)


# --- next sentence prediction ---

def test_pack_and_truncate_by_hand():
    ids, segments = pack_pair([10, 11], [12], CLS, SEP)
    assert ids == [CLS, 10, 11, SEP, 12, SEP] and segments == [0, 0, 0, 0, 1, 1]
    a, b = list(range(10)), [20, 21]
    truncate_pair(a, b, 6, random.Random(0))
    assert len(a) == 4 and b == [20, 21] and a == sorted(a) and set(a) <= set(range(10))
    a, b = [1, 2, 3], [4, 5, 6]
    truncate_pair(a, b, 4, random.Random(0))
    assert len(a) == len(b) == 2, "the longer side is cut first; ties cut B"


def documents(n_docs=60, seed=0):
    """Document d holds ids d*1000 + i, i = 0, 1, ...; its sentences are 2-7 tokens long."""
    rng = random.Random(seed)
    docs = []
    for d in range(n_docs):
        next_id, doc = d * 1000 + 10, []
        for _ in range(rng.randint(1, 12)):
            length = rng.randint(2, 7)
            doc.append(list(range(next_id, next_id + length)))
            next_id += length
        docs.append(doc)
    return docs


def split(example: PairExample):
    ids = example.ids
    first_sep = ids.index(SEP)
    return ids[1:first_sep], ids[first_sep + 1:-1]


def test_layout_balance_and_negatives_from_other_documents():
    max_len = 24
    examples = nsp_pairs(documents(400), max_len, CLS, SEP, seed=0)
    assert len(examples) > 800
    for e in examples:
        assert e.ids[0] == CLS and e.ids[-1] == SEP and e.ids.count(SEP) == 2 and len(e.ids) <= max_len
        first_sep = e.ids.index(SEP)
        assert e.segments == [0] * (first_sep + 1) + [1] * (len(e.ids) - first_sep - 1)
        a, b = split(e)
        assert a and b
        doc_a, doc_b = {t // 1000 for t in a}, {t // 1000 for t in b}
        assert len(doc_a) == 1 and len(doc_b) == 1, "each segment comes from one document"
        if e.is_next:
            assert doc_a == doc_b
            assert a == list(range(a[0], a[0] + len(a))) and b == list(range(b[0], b[0] + len(b)))
            assert b[0] > a[-1], "B comes after A (truncation may trim A's end or B's start)"
        else:
            assert doc_a != doc_b, "a negative B comes from another document"
    share = sum(e.is_next for e in examples) / len(examples)
    assert abs(share - 0.5) < 4 * (0.25 / len(examples)) ** 0.5


def test_every_sentence_is_used_and_truncation_fits():
    docs = documents(10, seed=1)
    examples = nsp_pairs(docs, 200, CLS, SEP, seed=0)  # long enough: no truncation
    for e in examples:
        a, b = split(e)
        assert not e.is_next or b[0] == a[-1] + 1, "untruncated, B starts right where A ends"
    seen = {t for e in examples for t in split(e)[0]} | {t for e in examples if e.is_next for t in split(e)[1]}
    assert seen == {t for doc in docs for s in doc for t in s}, "A and true-next B cover every token"
    short = nsp_pairs(docs, 8, CLS, SEP, seed=0)
    assert all(len(e.ids) <= 8 for e in short) and max(len(e.ids) for e in short) == 8


def test_nsp_pairs_is_reproducible_and_checks_input():
    docs = documents(8)
    assert nsp_pairs(docs, 16, CLS, SEP, seed=3) == nsp_pairs(docs, 16, CLS, SEP, seed=3)
    assert nsp_pairs(docs, 16, CLS, SEP, seed=3) != nsp_pairs(docs, 16, CLS, SEP, seed=4)
    with pytest.raises(ValueError, match="at least two non-empty documents"):
        nsp_pairs([docs[0], [[]]], 16, CLS, SEP)
    with pytest.raises(ValueError, match="at least 5 tokens"):
        nsp_pairs(docs, 4, CLS, SEP)
    with pytest.raises(ValueError, match="integer token ids"):
        nsp_pairs([["a cat"], ["a dog"]], 16, CLS, SEP)


def test_pretraining_batch_pads_and_masks():
    examples = [PairExample(*pack_pair([10, 11, 12], [13], CLS, SEP), 1),
                PairExample(*pack_pair([20], [21], CLS, SEP), 0)]
    padded = pad_pairs(examples, PAD)
    assert padded["ids"].tolist() == [[CLS, 10, 11, 12, SEP, 13, SEP], [CLS, 20, SEP, 21, SEP, PAD, PAD]]
    assert padded["segments"].tolist() == [[0, 0, 0, 0, 0, 1, 1], [0, 0, 0, 1, 1, 0, 0]]
    assert padded["attention_mask"].tolist() == [[1] * 7, [1] * 5 + [0, 0]]
    assert padded["is_next"].tolist() == [1, 0]
    batch = pretraining_batch(examples, V, {UNK, CLS, SEP, MASK}, MASK, PAD, generator=torch.Generator().manual_seed(0))
    assert set(batch) == {"ids", "segments", "attention_mask", "labels", "is_next"}
    chosen = batch["labels"] != IGNORE
    assert chosen.sum(1).tolist() == [1, 1]
    assert not chosen[padded["ids"] == PAD].any() and not chosen[padded["ids"] == CLS].any()
    with pytest.raises(ValueError, match="no examples"):
        pad_pairs([], PAD)
