import pytest
import torch

from ptm_lib import runtime


def test_scale_follows_device_unless_overridden(monkeypatch):
    monkeypatch.delenv("PTM_SCALE", raising=False)
    assert runtime.pick_scale(torch.device("cpu")) == "cpu"
    assert runtime.pick_scale(torch.device("cuda")) == "gpu"
    monkeypatch.setenv("PTM_SCALE", "gpu")
    assert runtime.pick_scale(torch.device("cpu")) == "gpu"


def test_bad_scale_names_the_choices(monkeypatch):
    monkeypatch.setenv("PTM_SCALE", "huge")
    with pytest.raises(ValueError, match="PTM_SCALE.*cpu, gpu"):
        runtime.pick_scale(torch.device("cpu"))


def test_device_override_and_unavailable_device(monkeypatch):
    monkeypatch.setenv("PTM_DEVICE", "cpu")
    assert runtime.pick_device() == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("PTM_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="no cuda device"):
        runtime.pick_device()


def test_default_device_prefers_cuda(monkeypatch):
    monkeypatch.delenv("PTM_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert runtime.pick_device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(runtime, "_available", lambda kind: kind == "cpu")
    assert runtime.pick_device().type == "cpu"


def test_threads(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("PTM_THREADS", "2")
        assert runtime.set_threads() == 2 and torch.get_num_threads() == 2
        assert runtime.set_threads(1) == 1 and torch.get_num_threads() == 1
        monkeypatch.setenv("PTM_THREADS", "many")
        with pytest.raises(ValueError, match="whole number"):
            runtime.set_threads()
        with pytest.raises(ValueError, match="at least 1"):
            runtime.set_threads(0)
    finally:
        torch.set_num_threads(before)


def test_seeding_repeats_draws():
    runtime.seed_everything(3)
    a = torch.rand(4)
    runtime.seed_everything(3)
    assert torch.equal(a, torch.rand(4))


def test_preset_picks_by_scale_and_rejects_mismatched_keys():
    p = runtime.preset("gpu", cpu={"width": 8}, gpu={"width": 64})
    assert p.width == 64
    with pytest.raises(ValueError, match="different settings"):
        runtime.preset("cpu", cpu={"width": 8}, gpu={"depth": 2})
    with pytest.raises(ValueError, match="missing"):
        runtime.preset("cpu", cpu={"width": 8})


def test_setup_reports_its_choices(monkeypatch):
    monkeypatch.setenv("PTM_DEVICE", "cpu")
    monkeypatch.setenv("PTM_SCALE", "cpu")
    monkeypatch.setenv("PTM_THREADS", "1")
    rt = runtime.setup(seed=5)
    assert (rt.device.type, rt.scale, rt.threads, rt.seed) == ("cpu", "cpu", 1, 5)
    assert rt.preset(cpu={"n": 1}, gpu={"n": 2}).n == 1
    assert str(rt) == "device=cpu scale=cpu threads=1 seed=5"
