import warnings

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ptm_lib import train
from ptm_lib.train import (
    History,
    MixedPrecisionFallback,
    amp_dtype,
    classification_loss,
    cpu_autocast_works,
    fit,
    progress_enabled,
    to_device,
)


def blobs(n=256, seed=0):
    """Two well separated Gaussian blobs: a problem any classifier must fit."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 2, generator=g) * 0.5 + (y[:, None] * 2 - 1) * 2.0
    return DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, generator=g)


def accuracy(model, data):
    x, y = data.dataset.tensors
    return (model(x).argmax(-1) == y).float().mean().item()


def test_fit_learns_a_tiny_problem_and_records_history():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    data = blobs()
    history = fit(model, data, classification_loss, epochs=5, lr=1e-2, log_every=4,
                  evaluate=lambda m: {"accuracy": accuracy(m, data)}, eval_every=20)
    steps, losses = history.series("loss")
    assert steps == sorted(steps) and steps[-1] == 5 * len(data)
    assert losses[-1] < 0.2 * losses[0]
    assert history.last("accuracy") > 0.97
    assert [r["step"] for r in history.val] == [20, 40]
    assert model.training  # fit leaves the model in training mode


def test_fit_by_steps_cycles_the_data():
    model = nn.Linear(2, 2)
    history = fit(model, blobs(64), classification_loss, steps=7, log_every=3)
    assert [r["step"] for r in history.train] == [3, 6, 7]


def test_frozen_parameters_do_not_move():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    model[0].requires_grad_(False)
    before = model[0].weight.clone()
    fit(model, blobs(), classification_loss, steps=10)
    assert torch.equal(before, model[0].weight)


def test_bfloat16_path_trains_on_any_cpu(monkeypatch):
    """Under amp='bf16' the forward pass runs in bfloat16 where this CPU's kernels can, and
    falls back to float32 with one warning where they cannot (AVX2-only CPUs): either way
    the model trains and its weights stay float32."""
    monkeypatch.setattr(train, "_WARNED", set())
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    seen = set()

    def loss(model, batch):
        logits = model(batch[0])
        seen.add(logits.dtype)
        return nn.functional.cross_entropy(logits.float(), batch[1])

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = fit(model, blobs(), loss, epochs=4, lr=1e-2, amp="bf16")
    fell_back = [w for w in caught if issubclass(w.category, MixedPrecisionFallback)]
    if cpu_autocast_works(torch.bfloat16):
        assert seen == {torch.bfloat16} and not fell_back
    else:
        assert seen == {torch.float32} and len(fell_back) == 1
        assert "float32" in str(fell_back[0].message) and "amp='off'" in str(fell_back[0].message)
    assert history.series("loss")[1][-1] < 0.3
    assert model[0].weight.dtype == torch.float32  # autocast, not a cast of the weights


def test_float16_path_with_a_gradient_scaler_trains(monkeypatch):
    """Colab's T4 path (float16 autocast plus a GradScaler), run on the CPU with a model of
    linear layers, whose float16 autocast every CPU runs: the scaler is made and used, and
    the model learns as under float32."""
    monkeypatch.setattr(train, "cpu_autocast_works", lambda dtype: True)
    scalers = []
    real_scaler = torch.amp.GradScaler
    monkeypatch.setattr(torch.amp, "GradScaler", lambda *a, **k: scalers.append(real_scaler(*a, **k)) or scalers[-1])
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    seen = set()

    def loss(model, batch):
        logits = model(batch[0])
        seen.add(logits.dtype)
        return nn.functional.cross_entropy(logits.float(), batch[1])

    history = fit(model, blobs(), loss, epochs=4, lr=1e-2, amp="fp16")
    assert seen == {torch.float16} and len(scalers) == 1 and scalers[0].is_enabled()
    assert history.series("loss")[1][-1] < 0.3
    assert model[0].weight.dtype == torch.float32


def test_a_cpu_without_bfloat16_kernels_falls_back_to_float32_once(monkeypatch):
    monkeypatch.setattr(train, "_WARNED", set())
    monkeypatch.setattr(train, "cpu_autocast_works", lambda dtype: False)
    with pytest.warns(MixedPrecisionFallback, match="training in float32"):
        assert amp_dtype(torch.device("cpu"), "bf16") is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second call stays quiet
        assert amp_dtype(torch.device("cpu"), "bf16") is None


def test_a_gpu_without_bfloat16_falls_back_to_float16(monkeypatch):
    """Colab's T4 has no bfloat16: amp='bf16' becomes float16 (fit then adds a gradient scaler)."""
    monkeypatch.setattr(train, "_WARNED", set())
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: False)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *args: "Tesla T4")
    with pytest.warns(MixedPrecisionFallback, match="Tesla T4"):
        assert amp_dtype(torch.device("cuda"), "bf16") is torch.float16
    assert amp_dtype(torch.device("cuda"), "auto") is torch.float16


def test_ptm_amp_overrides_auto(monkeypatch):
    monkeypatch.setenv("PTM_AMP", "off")
    assert amp_dtype(torch.device("cuda"), "auto") is None
    assert amp_dtype(torch.device("cuda"), "fp16") is torch.float16  # an explicit choice wins
    monkeypatch.setenv("PTM_AMP", "fp8")
    with pytest.raises(ValueError, match="PTM_AMP='fp8'"):
        amp_dtype(torch.device("cpu"))


def test_the_autocast_probe_leaves_the_random_stream_alone():
    cpu_autocast_works.cache_clear()
    torch.manual_seed(0)
    cpu_autocast_works(torch.bfloat16)
    after_probe = torch.rand(3)
    torch.manual_seed(0)
    assert torch.equal(after_probe, torch.rand(3))


def test_gradient_clipping_bounds_the_update():
    model = nn.Linear(1, 1, bias=False)
    nn.init.zeros_(model.weight)
    data = [(torch.tensor([[1000.0]]), torch.tensor([[1000.0]]))]
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    fit(model, data, lambda m, b: ((m(b[0]) - b[1]) ** 2).mean(), steps=1, optimizer=opt, clip_norm=0.5)
    assert model.weight.abs().item() == pytest.approx(0.5)


def test_amp_choices():
    assert amp_dtype(torch.device("cpu")) is None
    if cpu_autocast_works(torch.bfloat16):
        assert amp_dtype(torch.device("cpu"), "bf16") is torch.bfloat16
    assert amp_dtype(torch.device("cpu"), "off") is None
    with pytest.raises(ValueError, match="amp="):
        amp_dtype(torch.device("cpu"), "int8")


def test_clear_errors():
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="exactly one of steps= or epochs="):
        fit(model, blobs(), classification_loss)
    with pytest.raises(ValueError, match="empty"):
        fit(model, [], classification_loss, steps=3)
    frozen = nn.Linear(2, 2).requires_grad_(False)
    with pytest.raises(ValueError, match="frozen"):
        fit(frozen, blobs(), classification_loss, steps=1)
    bad = [(torch.tensor([[float("nan"), 0.0]]), torch.tensor([0]))]
    with pytest.raises(FloatingPointError, match="learning rate"):
        fit(model, bad, classification_loss, steps=1)


def test_to_device_handles_nesting():
    batch = {"x": torch.ones(2), "pair": (torch.zeros(1), [torch.ones(1)]), "n": 3}
    moved = to_device(batch, "cpu")
    assert moved["n"] == 3 and isinstance(moved["pair"], tuple) and isinstance(moved["pair"][1], list)


def test_history_names_missing_metric():
    h = History(train=[{"step": 1, "epoch": 0, "loss": 1.0}])
    with pytest.raises(KeyError, match="has \\['loss'\\]"):
        h.series("accuracy")


def test_progress_switch(monkeypatch):
    monkeypatch.setenv("PTM_PROGRESS", "0")
    assert not progress_enabled()
    monkeypatch.setenv("PTM_PROGRESS", "1")
    assert progress_enabled()


def test_lr_schedules_warm_up_then_decay_to_zero():
    from ptm_lib.train import lr_multiplier

    total = 100
    linear = [lr_multiplier(s, total, "linear", warmup=0.1) for s in range(total)]
    assert linear[0] == pytest.approx(0.1) and linear[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(linear[9:], linear[10:])) and linear[-1] == pytest.approx(0.0)
    cosine = [lr_multiplier(s, total, "cosine", warmup=0.1) for s in range(total)]
    assert cosine[9] == pytest.approx(1.0) and cosine[-1] == pytest.approx(0.0, abs=1e-12)
    assert cosine[50] > linear[50]  # cosine stays high longer
    assert lr_multiplier(7, total, "constant") == 1.0
    with pytest.raises(ValueError, match="schedule="):
        lr_multiplier(0, total, "step")


def test_fit_applies_the_schedule_to_the_optimizer():
    model = nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    fit(model, blobs(64), classification_loss, steps=10, optimizer=opt, schedule="linear", warmup=0.2)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="number of updates"):
        fit(model, iter([]), classification_loss, epochs=1, schedule="cosine")


def test_evaluating_turns_dropout_and_gradients_off_and_restores_the_mode_even_after_an_error():
    from ptm_lib.train import evaluating

    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.5)).train()
    with evaluating(model):
        assert not model.training and not torch.is_grad_enabled()
    assert model.training and torch.is_grad_enabled()
    with pytest.raises(RuntimeError, match="boom"), evaluating(model):
        raise RuntimeError("boom")
    assert model.training
    model.eval()
    with evaluating(model):
        pass
    assert not model.training  # a model that was in eval mode stays there
