import itertools
import os

import pytest
import torch
import torch.nn.functional as F

from ptm_lib.data.synthetic import DelayedCopyStream, delayed_copy
from ptm_lib.evaluate import fraction_correct
from ptm_lib.long_range import copy_accuracy, copy_loss, long_range_accuracy
from ptm_lib.models.sequence import LSTMLM, ConvLM
from ptm_lib.train import IGNORE


@pytest.mark.parametrize("delay", [1, 3, 9])
def test_targets_are_the_inputs_shifted_by_the_delay(delay):
    inputs, targets = delayed_copy(5, 10, delay, alphabet=7, seed=3)
    assert inputs.shape == targets.shape == (5, 10) and inputs.dtype == targets.dtype == torch.long
    assert inputs.min() >= 0 and inputs.max() < 7
    assert (targets[:, :delay] == IGNORE).all()
    for t in range(delay, 10):
        assert torch.equal(targets[:, t], inputs[:, t - delay])


def test_seed_makes_it_deterministic():
    a, b = delayed_copy(4, 12, 2, seed=1), delayed_copy(4, 12, 2, seed=1)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], delayed_copy(4, 12, 2, seed=2)[0])


def test_symbols_are_uniform():
    inputs, _ = delayed_copy(200, 100, 1, alphabet=4, seed=0)
    freq = torch.bincount(inputs.flatten(), minlength=4) / inputs.numel()
    assert torch.allclose(freq, torch.full((4,), 0.25), atol=0.01)


def test_stream_gives_fresh_reproducible_batches():
    first = list(itertools.islice(DelayedCopyStream(3, 8, 2, seed=5), 2))
    again = list(itertools.islice(DelayedCopyStream(3, 8, 2, seed=5), 2))
    assert not torch.equal(first[0][0], first[1][0]), "each batch must be new data"
    assert all(torch.equal(x[0], y[0]) for x, y in zip(first, again))
    assert torch.equal(first[0][1][:, 2:], first[0][0][:, :-2])


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=2, length=8, delay=8), "delay < length"),
    (dict(n=2, length=8, delay=0), "delay must be a positive"),
    (dict(n=2, length=8, delay=2, alphabet=1), "alphabet"),
    (dict(n=0, length=8, delay=2), "n must be"),
    (dict(n=2, length=1, delay=1), "length"),
])
def test_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        delayed_copy(**kwargs)
    with pytest.raises(ValueError, match="batch_size"):
        DelayedCopyStream(0, 8, 2)


def test_accuracy_counts_only_scored_positions():
    inputs, targets = delayed_copy(3, 10, 4, alphabet=5)
    perfect = F.one_hot(targets.clamp(min=0), 5).float()  # at ignored positions this "predicts" symbol 0
    assert fraction_correct(perfect.argmax(-1), targets) == 1.0
    wrong_at_ignored = perfect.clone()
    wrong_at_ignored[:, :4] = torch.tensor([0.0, 0.0, 0.0, 0.0, 9.0])
    assert fraction_correct(wrong_at_ignored.argmax(-1), targets) == 1.0
    half = perfect.clone()
    half[:, 4:7] = 0  # ties -> argmax 0; exactly the targets that are 0 stay right
    expected = 1 - ((targets[:, 4:7] != 0).sum() / (targets != IGNORE).sum()).item()
    assert fraction_correct(half.argmax(-1), targets) == pytest.approx(expected)
    with pytest.raises(ValueError, match="nothing to score"):
        fraction_correct(perfect[:, :4].argmax(-1), targets[:, :4])
    with pytest.raises(ValueError, match="one shape"):
        fraction_correct(perfect[:, :5].argmax(-1), targets)


def test_copy_loss_is_cross_entropy_over_scored_positions():
    torch.manual_seed(0)
    model = LSTMLM(6, 8, 1)
    inputs, targets = delayed_copy(2, 9, 3, alphabet=6)
    logits = model(inputs)
    keep = targets != IGNORE
    expected = F.cross_entropy(logits[keep], targets[keep])
    assert torch.allclose(copy_loss(model, (inputs, targets)), expected)
    three_symbols = lambda ids: torch.zeros(*ids.shape, 3)  # noqa: E731  (scores fewer symbols than the task has)
    with pytest.raises(ValueError, match="vocab_size"):
        copy_loss(three_symbols, (inputs, targets))


def test_copy_accuracy_restores_mode_and_scores_the_whole_set():
    torch.manual_seed(0)
    model = ConvLM(6, 8, 2, dropout=0.1).train()
    inputs, targets = delayed_copy(10, 12, 2, alphabet=6)
    acc = copy_accuracy(model, inputs, targets, batch_size=3)
    assert model.training
    with torch.no_grad():
        assert acc == pytest.approx(fraction_correct(model.eval()(inputs).argmax(-1), targets))


def test_long_range_runner_shows_the_receptive_field(monkeypatch):
    """A CNN that sees 3 tokens learns delay 1 and stays near chance (1/8) at delay 4."""
    monkeypatch.setenv("PTM_PROGRESS", "0")
    result = long_range_accuracy(lambda: ConvLM(8, 32, 1, kernel_size=3), delays=[1, 4], steps=60, batch_size=16,
                                 length=16, lr=1e-2, seed=0, device="cpu", alphabet=8, n_eval=64)
    assert list(result) == [1, 4]
    assert result[1] > 0.9
    assert result[4] < 0.3
    with pytest.raises(ValueError, match="delay"):
        long_range_accuracy(lambda: ConvLM(8, 8, 1), delays=[16], steps=1, batch_size=2, length=16, alphabet=8)
    with pytest.raises(ValueError, match="at least one delay"):
        long_range_accuracy(lambda: ConvLM(8, 8, 1), delays=[], steps=1, batch_size=2, length=16)
    with pytest.raises(ValueError, match="vocab_size >= alphabet"):
        long_range_accuracy(lambda: ConvLM(8, 8, 1), delays=[2], steps=1, batch_size=2, length=16, alphabet=16)
    assert os.environ["PTM_PROGRESS"] == "0"
