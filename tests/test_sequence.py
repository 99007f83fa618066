import pytest
import torch

from ptm_lib.models.gpt import GPT
from ptm_lib.models.sequence import LSTMLM, ConvLM, build_model, size_matched

V, D, T = 11, 16, 24


def _logits_after_change(model, ids, position):
    """Logits for ``ids`` and for ``ids`` with the token at ``position`` replaced."""
    changed = ids.clone()
    changed[:, position] = (changed[:, position] + 1) % V
    model.eval()
    with torch.no_grad():
        return model(ids), model(changed)


@pytest.fixture
def ids():
    return torch.randint(0, V, (2, T), generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("make", [lambda: LSTMLM(V, D, 2), lambda: ConvLM(V, D, 3), lambda: ConvLM(V, D, 2, 5, 2)])
def test_shapes_and_tied_head(make, ids):
    torch.manual_seed(0)
    model = make()
    assert model(ids).shape == (2, T, V)
    assert model.head.weight is model.tok.weight
    assert model.head.bias is None


@pytest.mark.parametrize("make", [lambda: LSTMLM(V, D, 2), lambda: ConvLM(V, D, 3, dilation_growth=2)])
@pytest.mark.parametrize("t", [0, 7, T - 1])
def test_causal_changing_token_t_never_changes_earlier_logits(make, ids, t):
    torch.manual_seed(0)
    before, after = _logits_after_change(make(), ids, t)
    assert torch.equal(before[:, :t], after[:, :t]), "a change at t leaked into earlier positions"
    assert not torch.allclose(before[:, t], after[:, t]), "the output at t must read token t"


@pytest.mark.parametrize("n_layers, kernel, growth, expected",
                         [(4, 3, 1, 9), (2, 5, 1, 9), (3, 3, 2, 15), (1, 2, 1, 2)])
def test_conv_receptive_field_is_exact(ids, n_layers, kernel, growth, expected):
    torch.manual_seed(0)
    model = ConvLM(V, D, n_layers, kernel, growth)
    rf = model.receptive_field
    assert rf == expected
    t = T - 1
    before, after = _logits_after_change(model, ids, t - rf)
    assert torch.equal(before[:, t], after[:, t]), "a token receptive_field positions back must be out of reach"
    before, after = _logits_after_change(model, ids, t - rf + 1)
    assert not torch.allclose(before[:, t], after[:, t]), "the oldest token inside the field must matter"


def test_parameter_counts_match_closed_forms():
    lstm = LSTMLM(V, D, 2)
    # embedding (tied with the head, counted once) + per layer: W_ih, W_hh (4d x d each) and two biases (4d each)
    assert lstm.num_parameters() == V * D + 2 * (8 * D * D + 8 * D)
    untied = LSTMLM(V, D, 2, tie_weights=False)
    assert untied.head.weight is not untied.tok.weight
    assert untied.num_parameters() == lstm.num_parameters() + V * D
    conv = ConvLM(V, D, 3, kernel_size=3)
    # embedding + per block: LayerNorm (2d) + conv weight (d x d x k) and bias (d) + final LayerNorm (2d)
    assert conv.num_parameters() == V * D + 3 * (2 * D + 3 * D * D + D) + 2 * D


def test_size_matched_hits_the_target_at_equal_parameter_count():
    gpt = build_model("gpt", V, 32, n_layers=2, n_heads=4, max_len=T)
    assert isinstance(gpt, GPT)
    target = gpt.num_parameters()
    for kind, fixed in (("lstm", dict(n_layers=1)), ("conv", dict(n_layers=4)), ("gpt", dict(n_layers=1, n_heads=4))):
        model = size_matched(kind, V, target, **fixed)
        assert abs(model.num_parameters() - target) / target < 0.05, kind
        width = model.config.d_model if kind == "gpt" else model.d_model
        step = 4 if kind == "gpt" else 1
        narrower, wider = (build_model(kind, V, width + s, **fixed) for s in (-step, step))
        gap = abs(model.num_parameters() - target)
        assert gap <= abs(narrower.num_parameters() - target) and gap <= abs(wider.num_parameters() - target)
    assert size_matched("gpt", V, target, n_layers=1, n_heads=4).config.d_model % 4 == 0


def test_dropout_only_in_training():
    torch.manual_seed(0)
    model = LSTMLM(V, D, 2, dropout=0.5)
    ids = torch.randint(0, V, (2, T))
    model.eval()
    assert torch.equal(model(ids), model(ids))
    model.train()
    assert not torch.equal(model(ids), model(ids))


def test_clear_errors():
    with pytest.raises(ValueError, match="kind"):
        build_model("rnn", V, D, n_layers=1)
    with pytest.raises(ValueError, match="n_layers"):
        build_model("lstm", V, D)
    with pytest.raises(ValueError, match="kernel_size"):
        ConvLM(V, D, 2, kernel_size=1)
    with pytest.raises(ValueError, match="d_model"):
        LSTMLM(V, 0, 1)
    with pytest.raises(ValueError, match="dropout"):
        LSTMLM(V, D, 1, dropout=1.0)
    with pytest.raises(ValueError, match=r"ids\[None\]"):
        ConvLM(V, D, 1)(torch.zeros(T, dtype=torch.long))
    with pytest.raises(ValueError, match="max_width"):
        size_matched("lstm", V, 10**9, n_layers=1, max_width=64)
