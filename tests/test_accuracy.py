"""Accuracy written once (ptm_lib.evaluate): fraction_correct, predict and accuracy."""

import numpy as np
import pytest
import torch
from torch import nn

from ptm_lib.data.batches import TensorBatches
from ptm_lib.evaluate import accuracy, fraction_correct, predict
from ptm_lib.train import IGNORE


def test_fraction_correct_skips_ignored_labels_and_takes_arrays():
    assert fraction_correct(torch.tensor([1, 2, 3, 4]), torch.tensor([1, 2, 0, IGNORE])) == pytest.approx(2 / 3)
    assert fraction_correct(np.array([True, False, True]), np.array([1, 1, 1])) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="nothing to score"):
        fraction_correct(torch.tensor([1]), torch.tensor([IGNORE]))
    with pytest.raises(ValueError, match="one shape"):
        fraction_correct(torch.zeros(2, 3), torch.zeros(2))


def test_fraction_correct_is_the_exact_ratio_or_a_float32_mean():
    predictions = torch.tensor([1] * 491 + [0] * 509)
    labels = torch.ones(1000, dtype=torch.long)
    assert fraction_correct(predictions, labels) == 491 / 1000  # float64: the ratio rounded once
    float32 = fraction_correct(predictions, labels, dtype=torch.float32)
    assert float32 == (predictions == labels).float().mean().item() != 491 / 1000


class Scorer(nn.Module):
    """Scores class ``x % 3`` highest; dropout makes eval mode matter."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.drop = nn.Dropout(0.5)

    def forward(self, x, mask=None):
        scores = nn.functional.one_hot(x % 3, 3).float() * self.scale
        return self.drop(scores) if mask is None else self.drop(scores) * mask[..., None]


def test_accuracy_reads_pairs_longer_tuples_and_dicts_in_eval_mode():
    x = torch.arange(12)
    y = torch.where(torch.arange(12) < 9, x % 3, (x + 1) % 3)  # 9 of 12 right
    model = Scorer().train()
    assert accuracy(model, [(x[:6], y[:6]), (x[6:], y[6:])]) == pytest.approx(0.75)
    assert accuracy(model, TensorBatches((x, torch.ones(12), y), 5, shuffle=False)) == pytest.approx(0.75)
    assert accuracy(model, {"x": x, "labels": y}, batch_size=5) == pytest.approx(0.75)  # by the forward's names
    assert model.training  # the mode is restored
    with pytest.raises(ValueError, match=r"needs \['x'\], but a batch is a dict with keys \['ids'\]"):
        predict(model, [{"ids": x}])
    with pytest.raises(ValueError, match="labels"):
        accuracy(model, [x])


def test_predict_keeps_order_and_restores_the_mode_after_an_error():
    model = Scorer().train()
    outputs = predict(model, {"x": torch.arange(7)}, batch_size=3)
    assert [o.shape for o in outputs] == [(3, 3), (3, 3), (1, 3)]
    assert torch.cat(outputs).argmax(-1).tolist() == [i % 3 for i in range(7)]

    def broken():
        yield torch.arange(3)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        predict(model, broken())
    assert model.training
