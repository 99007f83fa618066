"""The one batcher (ptm_lib.data.batches): dicts, tuples and tensors, shuffled per pass, trimmed."""

import pytest
import torch

from ptm_lib.data.batches import TensorBatches, pad_rows, subset, trim


def test_dict_batches_cover_every_example_once_per_pass_and_trim_padding():
    data = {"ids": torch.arange(20).reshape(10, 2), "attention_mask": torch.tensor([[1, 0]] * 10),
            "labels": torch.arange(10)}
    batches = TensorBatches(data, 4, seed=0)
    assert len(batches) == 3
    seen = [b for b in batches]
    assert sorted(torch.cat([b["labels"] for b in seen]).tolist()) == list(range(10))
    assert all(b["ids"].shape[1] == 1 for b in seen)  # the all-padding column is gone
    assert torch.equal(seen[0]["ids"][:, 0], seen[0]["labels"] * 2)  # rows stay aligned across keys
    assert trim({"ids": torch.ones(2, 3)})["ids"].shape == (2, 3)
    assert subset(data, [3, 1])["labels"].tolist() == [3, 1]
    full = next(iter(TensorBatches(data, 4, shuffle=False, trim_padding=False)))
    assert full["ids"].shape == (4, 2) and full["labels"].tolist() == [0, 1, 2, 3]


def test_tuple_batches_trim_along_the_masks_last_dimension():
    """GPT's layout: ids and mask (N, S, T), labels (N,); the mask is the tuple's second entry."""
    ids = torch.arange(4 * 2 * 5).reshape(4, 2, 5)
    mask = torch.zeros(4, 2, 5, dtype=torch.bool)
    for i, length in enumerate([2, 3, 1, 2]):
        mask[i, :, :length] = True
    labels = torch.tensor([0, 1, 0, 1])
    first, second = TensorBatches((ids, mask, labels), 2, shuffle=False, mask=1)
    assert [t.shape for t in first] == [(2, 2, 3), (2, 2, 3), (2,)]
    assert [t.shape for t in second] == [(2, 2, 2), (2, 2, 2), (2,)]
    assert torch.equal(first[0], ids[:2, :, :3]) and torch.equal(second[2], labels[2:])
    untrimmed = next(iter(TensorBatches((ids, mask, labels), 2, shuffle=False)))  # no mask named: no cut
    assert untrimmed[0].shape == (2, 2, 5)


def test_a_lone_tensor_is_batched_as_rows():
    rows = torch.arange(30).reshape(10, 3)
    batches = list(TensorBatches(rows, 4, seed=1))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(torch.cat(batches)[:, 0].tolist()) == rows[:, 0].tolist()


def test_a_seed_fixes_every_pass_and_passes_differ():
    data = (torch.arange(50), torch.arange(50) * 2)

    def orders(seed):
        batches = TensorBatches(data, 50, seed=seed)
        return [next(iter(batches))[0].tolist() for _ in range(3)]

    assert orders(7) == orders(7)
    first, second, _ = orders(7)
    assert first != second and sorted(first) == sorted(second) == list(range(50))


def test_bad_data_is_a_clear_error():
    with pytest.raises(ValueError, match="one row per example"):
        TensorBatches({"ids": torch.zeros(3, 2), "labels": torch.zeros(2)}, 2)
    with pytest.raises(ValueError, match="one row per example"):
        TensorBatches((torch.zeros(3, 2), torch.zeros(2)), 2)
    with pytest.raises(ValueError, match="batch_size must be positive"):
        TensorBatches(torch.zeros(3, 2), 0)


def test_pad_rows_right_pads_ids_segments_and_mask():
    batch = pad_rows([([5, 6, 7], [0, 0, 1]), ([8], [0])], pad_id=0)
    assert batch["ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["segments"].tolist() == [[0, 0, 1], [0, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    with pytest.raises(ValueError, match="no rows"):
        pad_rows([], 0)


def test_buckets_group_similar_lengths_and_still_cover_every_row_once():
    lengths = torch.randint(1, 41, (200,), generator=torch.Generator().manual_seed(0))
    mask = (torch.arange(40)[None] < lengths[:, None]).long()
    data = {"attention_mask": mask, "labels": torch.arange(200)}

    def padding(batches):
        """Padding positions left after trimming, over a pass."""
        return sum(int((1 - b["attention_mask"]).sum()) for b in batches)

    bucketed, plain = TensorBatches(data, 10, bucket=5, seed=3), TensorBatches(data, 10, seed=3)
    passes = [list(bucketed) for _ in range(2)]
    for batches in passes:
        assert sorted(torch.cat([b["labels"] for b in batches]).tolist()) == list(range(200))
        assert all(int(b["attention_mask"].sum(1).min()) > 0 for b in batches)
    assert padding(passes[0]) < padding(list(plain)) / 3  # sorted windows leave little padding
    first_rows = [b["labels"].tolist() for b in passes[0]]
    assert first_rows != [b["labels"].tolist() for b in passes[1]]  # a fresh order every pass
    assert first_rows == [b["labels"].tolist() for b in TensorBatches(data, 10, bucket=5, seed=3)]  # seeded
    shortest = [int(b["attention_mask"].sum(1).min()) for b in passes[0]]
    assert shortest != sorted(shortest)  # the batches come in a shuffled order, not from short to long
    in_order = list(TensorBatches(data, 10, bucket=5, shuffle=False))  # no shuffling: no bucketing either
    assert torch.cat([b["labels"] for b in in_order]).tolist() == list(range(200))


def test_buckets_need_a_mask_to_read_lengths_from():
    with pytest.raises(ValueError, match="padding mask 'attention_mask'"):
        TensorBatches({"ids": torch.zeros(4, 3)}, 2, bucket=2)
    with pytest.raises(ValueError, match="bucket must be a positive"):
        TensorBatches({"ids": torch.zeros(4, 3)}, 2, bucket=0)
    TensorBatches((torch.zeros(4, 3), torch.ones(4, 3)), 2, bucket=2, mask=1)  # a tuple names its mask by position
