import pytest
import torch

from ptm_lib.models.gpt import GPT
from ptm_lib.models.sequence import LSTMLM
from ptm_lib.models.transformer import TransformerConfig
from ptm_lib.speed import inference_throughput, step_throughput, throughput_table, training_throughput

V = 13


@pytest.fixture
def batch():
    return torch.randint(0, V, (4, 16), generator=torch.Generator().manual_seed(0))


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_training_throughput_leaves_the_model_untouched(batch, mode):
    torch.manual_seed(0)
    model = LSTMLM(V, 16, 1, dropout=0.1).train(mode == "train")
    before = _state(model)
    tok_s = training_throughput(model, batch, steps=3, warmup=1)
    assert isinstance(tok_s, float) and tok_s > 0
    assert model.training == (mode == "train")
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items()), "weights must not change"
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_inference_throughput_restores_the_mode(batch, mode):
    torch.manual_seed(0)
    model = GPT(TransformerConfig(vocab_size=V, max_len=16, d_model=16, n_layers=1, n_heads=2, dropout=0.1))
    model.train(mode == "train")
    before = _state(model)
    tok_s = inference_throughput(model, batch, steps=3, warmup=1)
    assert isinstance(tok_s, float) and tok_s > 0
    assert model.training == (mode == "train")
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_mixed_precision_path_runs_on_cpu(batch):
    """bf16 autocast where the CPU has the kernels, float32 with a warning where not."""
    model = LSTMLM(V, 16, 1)
    assert training_throughput(model, batch, steps=1, warmup=0, amp="bf16") > 0
    assert inference_throughput(model, batch, steps=1, warmup=0, amp="bf16") > 0


def test_counts_tokens_per_second(batch, monkeypatch):
    """With a fake clock that advances 1 s per read, 2 timed steps of 4 x 16 tokens give 128 tokens in 1 s."""
    ticks = iter(range(100))
    monkeypatch.setattr("ptm_lib.speed.time.perf_counter", lambda: float(next(ticks)))
    assert inference_throughput(LSTMLM(V, 8, 1), batch, steps=2, warmup=1) == pytest.approx(2 * 4 * 16)


def test_step_throughput_times_any_step(monkeypatch):
    calls = []
    ticks = iter(range(100))
    monkeypatch.setattr("ptm_lib.speed.time.perf_counter", lambda: float(next(ticks)))
    assert step_throughput(lambda: calls.append(1), tokens_per_step=50, steps=3, warmup=2) == pytest.approx(150)
    assert len(calls) == 5  # the warm-up calls run but are not timed
    with pytest.raises(ValueError, match="tokens_per_step"):
        step_throughput(lambda: None, tokens_per_step=0)


def test_throughput_table_rows(batch):
    models = {"lstm": LSTMLM(V, 8, 1),
              "gpt": GPT(TransformerConfig(vocab_size=V, max_len=32, d_model=8, n_layers=1, n_heads=2))}
    rows = throughput_table(models, [8, 32], V, tokens_per_batch=64, steps=1, warmup=0)
    assert [(r["model"], r["length"], r["batch_size"]) for r in rows] == [
        ("lstm", 8, 8), ("gpt", 8, 8), ("lstm", 32, 2), ("gpt", 32, 2)]
    assert all(r["train_tok_s"] > 0 and r["infer_tok_s"] > 0 and r["params"] > 0 for r in rows)
    with pytest.raises(ValueError, match="tokens_per_batch"):
        throughput_table(models, [128], V, tokens_per_batch=64)


@pytest.mark.parametrize("fn", [training_throughput, inference_throughput])
def test_clear_errors(fn):
    model = LSTMLM(V, 8, 1)
    with pytest.raises(ValueError, match="empty"):
        fn(model, torch.zeros(0, 16, dtype=torch.long))
    with pytest.raises(ValueError, match="empty"):
        fn(model, torch.zeros(4, 0, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\(batch, length\)"):
        fn(model, torch.zeros(16, dtype=torch.long))
    with pytest.raises(TypeError, match="integer"):
        fn(model, torch.zeros(2, 16))
    with pytest.raises(ValueError, match="steps"):
        fn(model, torch.zeros(2, 16, dtype=torch.long), steps=0)
