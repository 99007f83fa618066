"""The word2vec benchmark's moving parts on a toy corpus (the real run is `python -m benchmarks.word2vec`)."""

import pytest

from benchmarks.word2vec import mean_of, parse_args, run_ours

TOY = [["the", "cat", "eats", "fish"], ["the", "dog", "eats", "meat"], ["a", "car", "drives", "fast"]] * 50


@pytest.mark.parametrize("order", ["text", "shuffled"])
def test_ours_trains_for_the_budget_in_either_order(order):
    args = parse_args(["--budget", "0.2", "--min-count", "1", "--dim", "8", "--window", "2", "--order", order])
    stats, words = run_ours(TOY, args, seed=0)
    assert sorted(words) == sorted({w for s in TOY for w in s})
    assert stats["vectors"].shape == (len(words), 8)
    assert stats["epochs"] > 0 and stats["words_per_s"] > 0 and 0.2 <= stats["train_s"] < 2


def test_mean_of_runs_keeps_each_run():
    runs = [{"seed": s, "words_per_s": 100.0 * (s + 1), "epochs": 10 + s, "analogy": 0.1, "ws353": 0.4 + 0.1 * s,
             "simlex999": 0.2} for s in range(2)]
    summary = mean_of(runs)
    assert summary["words_per_s"] == 150 and summary["ws353"] == pytest.approx(0.45)
    assert "seed" not in summary and [r["seed"] for r in summary["runs"]] == [0, 1]


def test_bad_repeats_is_refused():
    with pytest.raises(SystemExit):
        parse_args(["--repeats", "0"])
