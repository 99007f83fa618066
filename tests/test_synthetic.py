import itertools
import os

import pytest
import torch
import torch.nn.functional as F

from ptm_lib.data.synthetic import (
    AssociativeRecallStream,
    DelayedCopyStream,
    associative_recall,
    delayed_copy,
    recall_distances,
)
from ptm_lib.evaluate import fraction_correct
from ptm_lib.long_range import accuracy_by_distance, copy_accuracy, copy_loss, long_range_accuracy, recall_accuracy
from ptm_lib.models.gpt import GPT
from ptm_lib.models.sequence import LSTMLM, ConvLM
from ptm_lib.models.transformer import TransformerConfig
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


# --- associative recall: find an earlier token by its content -------------------------------------------------


def _recall_by_definition(inputs, keys, values, window=None):
    """At each query, the last pair token of its key (within ``window`` positions back, if given), by a plain scan;
    where there is none, the pair token ``(key, 0)``. IGNORE before the first query."""
    answers = torch.full_like(inputs, IGNORE)
    for i, row in enumerate(inputs.tolist()):
        for t, token in enumerate(row):
            if token < keys * values:
                continue
            key = token - keys * values
            start = 0 if window is None else max(0, t - window)
            found = [u for u in row[start:t] if u < keys * values and u // values == key]
            answers[i, t] = found[-1] if found else key * values
    return answers


def test_recall_answer_is_the_pair_token_of_the_queried_key():
    keys, values = 5, 3
    inputs, targets = associative_recall(50, 20, keys, values, seed=4)
    assert inputs.shape == targets.shape == (50, 20) and inputs.dtype == targets.dtype == torch.long
    opening, queries = inputs[:, :keys], inputs[:, keys:]
    assert (opening < keys * values).all()
    assert (queries >= keys * values).all() and (queries < keys * (values + 1)).all()
    assert torch.equal((opening // values).sort(dim=1).values, torch.arange(keys).expand(50, keys)), "every key once"
    assert (targets[:, :keys] == IGNORE).all()
    assert torch.equal(targets, _recall_by_definition(inputs, keys, values))
    assert torch.equal(targets[:, keys:] // values, queries - keys * values), "the answer holds the queried key"


def test_recall_values_are_uniform_and_no_fixed_position_or_offset_beats_chance():
    keys, values, length = 4, 4, 40
    inputs, targets = associative_recall(3000, length, keys, values, seed=0)
    answers = targets[:, keys:]
    freq = torch.bincount((answers % values).flatten(), minlength=values) / answers.numel()
    assert torch.allclose(freq, torch.full((values,), 1 / values), atol=0.01)
    chance = 1 / values
    for offset in range(1, length):  # predict "the token `offset` back"
        guess = torch.full_like(targets, -1)
        guess[:, offset:] = inputs[:, :-offset]
        assert fraction_correct(guess, targets) < chance / 2, offset  # only the opening can hold the answer
    for slot in range(keys):  # predict "the pair token at opening position `slot`", at every query
        assert fraction_correct(inputs[:, slot:slot + 1].expand_as(targets), targets) < chance + 0.01, slot


def test_recall_seed_and_stream():
    a, b = associative_recall(4, 12, 3, 2, seed=1), associative_recall(4, 12, 3, 2, seed=1)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], associative_recall(4, 12, 3, 2, seed=2)[0])
    first = list(itertools.islice(AssociativeRecallStream(3, 12, 3, 2, seed=5), 2))
    again = list(itertools.islice(AssociativeRecallStream(3, 12, 3, 2, seed=5), 2))
    assert not torch.equal(first[0][0], first[1][0]), "each batch must be new data"
    assert all(torch.equal(x[0], y[0]) and torch.equal(x[1], y[1]) for x, y in zip(first, again))


def test_recall_distances_point_at_the_pair_token():
    keys, values = 4, 4
    inputs, targets = associative_recall(20, 30, keys, values, seed=3)
    distances = recall_distances(inputs, keys, values)
    scored = targets != IGNORE
    assert ((distances > 0) == scored).all()
    rows, cols = scored.nonzero(as_tuple=True)
    assert torch.equal(inputs[rows, cols - distances[rows, cols]], targets[rows, cols])
    assert int(distances.max()) > 20, "distances must spread over the sequence"
    with pytest.raises(ValueError, match="shape"):
        recall_distances(inputs[0], keys, values)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=2, length=8, keys=1, values=1), "keys must be"),
    (dict(n=2, length=8, keys=4, values=1), "values must be"),
    (dict(n=2, length=8, keys=3, values=4), "values <= keys"),
    (dict(n=2, length=4, keys=4, values=4), "no query"),
    (dict(n=0, length=8, keys=2, values=2), "n must be"),
])
def test_recall_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        associative_recall(**kwargs)
    with pytest.raises(ValueError, match="batch_size"):
        AssociativeRecallStream(0, 8, 2, 2)


class _WindowOracle(torch.nn.Module):
    """Answers a query right when its key's pair token is at most ``window`` positions back, like a CNN's field."""

    def __init__(self, keys, values, window):
        super().__init__()
        self.keys, self.values, self.window = keys, values, window
        self.anchor = torch.nn.Parameter(torch.zeros(()))  # evaluation reads the device off a parameter

    def forward(self, ids):
        answers = _recall_by_definition(ids, self.keys, self.values, self.window).clamp(min=0)
        return F.one_hot(answers, self.keys * (self.values + 1)).float()


def test_accuracy_by_distance_splits_at_the_window():
    keys, values = 4, 4
    inputs, targets = associative_recall(300, 24, keys, values, seed=0)
    distances = recall_distances(inputs, keys, values)
    acc = accuracy_by_distance(_WindowOracle(keys, values, 6), inputs, targets, distances, [(1, 6), (7, 23)])
    assert list(acc) == ["1-6", "7-23"]
    assert acc["1-6"] == 1.0
    assert abs(acc["7-23"] - 1 / values) < 0.03  # the oracle guesses value 0 beyond its window
    with pytest.raises(ValueError, match="no scored position"):
        accuracy_by_distance(_WindowOracle(keys, values, 6), inputs, targets, distances, [(40, 50)])
    with pytest.raises(ValueError, match="0 < lo <= hi"):
        accuracy_by_distance(_WindowOracle(keys, values, 6), inputs, targets, distances, [(5, 2)])


def test_recall_runner_a_transformer_finds_the_key(monkeypatch):
    """A one-layer GPT learns the lookup at every distance; a CNN that sees 3 tokens, only within them."""
    monkeypatch.setenv("PTM_PROGRESS", "0")
    keys = values = 4
    bins = [(1, 2), (5, 19)]
    gpt = lambda: GPT(TransformerConfig(vocab_size=20, max_len=20, d_model=32, n_layers=1, n_heads=2))  # noqa: E731
    result = recall_accuracy(gpt, bins, steps=150, batch_size=16, length=20, keys=keys, values=values, lr=1e-2,
                             n_eval=128)
    assert list(result) == ["1-2", "5-19"] and min(result.values()) > 0.9, result
    cnn = recall_accuracy(lambda: ConvLM(20, 32, 1, kernel_size=3), bins, steps=150, batch_size=16, length=20,
                          keys=keys, values=values, lr=1e-2, n_eval=128)
    assert cnn["5-19"] < 1 / values + 0.08, cnn
    with pytest.raises(ValueError, match="vocab_size >= alphabet"):
        recall_accuracy(lambda: ConvLM(8, 8, 1), bins, steps=1, batch_size=2, length=20, keys=keys, values=values)
    with pytest.raises(ValueError, match="at least one distance bin"):
        recall_accuracy(gpt, [], steps=1, batch_size=2, length=20)
