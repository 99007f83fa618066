import math

import pytest
import torch

from ptm_lib.models.transformer import (
    ACTIVATIONS,
    INIT_SCHEMES,
    Block,
    BlocksOutput,
    MultiHeadAttention,
    Transformer,
    TransformerConfig,
    activation,
    causal_mask,
    init_normal,
    padding_mask,
    sinusoidal_positions,
)

V, T, D, H = 23, 10, 16, 4


def make(norm="pre", **kw):
    torch.manual_seed(0)
    return Transformer(TransformerConfig(V, max_len=T, d_model=D, n_layers=2, n_heads=H, norm=norm, **kw)).eval()


def ids_batch(batch=3, seed=1):
    return torch.randint(0, V, (batch, T), generator=torch.Generator().manual_seed(seed))


def test_mask_builders():
    m = causal_mask(4)
    assert m.shape == (1, 1, 4, 4) and m.dtype == torch.bool
    assert m[0, 0].tolist() == [[True, False, False, False], [True, True, False, False],
                                [True, True, True, False], [True, True, True, True]]
    p = padding_mask(torch.tensor([[1, 1, 0], [1, 0, 0]]))
    assert p.shape == (2, 1, 1, 3) and p.dtype == torch.bool and p[1, 0, 0].tolist() == [True, False, False]
    with pytest.raises(ValueError, match="batch, length"):
        padding_mask(torch.ones(2, 1, 3))


@pytest.mark.parametrize("causal", [False, True])
def test_causal_mask_never_leaks_the_future(causal):
    model = make()
    ids = ids_batch()
    mask = causal_mask(T) if causal else None  # the same thing two ways: a mask, or causal=True
    base = model(ids, mask, causal=not causal)[0]
    for t in (0, 4, T - 1):
        changed = ids.clone()
        changed[:, t] = (changed[:, t] + 1) % V
        out = model(changed, mask, causal=not causal)[0]
        assert torch.equal(out[:, :t], base[:, :t]), f"changing token {t} changed an earlier position"
        assert not torch.allclose(out[:, t], base[:, t]), "changing token t must change position t"
    # without any mask the past does see the future
    changed = ids.clone()
    changed[:, -1] = (changed[:, -1] + 1) % V
    assert not torch.allclose(model(changed)[0][:, 0], model(ids)[0][:, 0])


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_padding_is_ignored(norm):
    model = make(norm)
    ids = ids_batch(2)
    attention = torch.ones(2, T, dtype=torch.long)
    attention[0, 6:] = 0
    attention[1, 2:] = 0
    mask = padding_mask(attention)
    base = model(ids, mask)[0]
    other = torch.where(attention.bool(), ids, (ids + 5) % V)  # change every padded token
    out = model(other, mask)[0]
    real = attention.bool()
    assert torch.allclose(out[real], base[real], atol=1e-6)
    assert not torch.allclose(model(other)[0][real], model(ids)[0][real]), "unmasked, padding would matter"


@pytest.mark.parametrize("kind", ["none", "causal", "padding", "both"])
def test_fused_path_equals_explicit_probabilities(kind):
    torch.manual_seed(0)
    attn = MultiHeadAttention(D, H).eval()
    x = torch.randn(2, T, D)
    attention = torch.ones(2, T, dtype=torch.long)
    attention[1, 7:] = 0
    mask = {"none": None, "causal": causal_mask(T), "padding": padding_mask(attention),
            "both": causal_mask(T) & padding_mask(attention)}[kind]
    fast, none = attn(x, mask)
    slow, probs = attn(x, mask, need_weights=True)
    assert none is None and probs.shape == (2, H, T, T)
    assert torch.allclose(fast, slow, atol=1e-5)
    assert torch.allclose(probs.sum(-1), torch.ones(2, H, T), atol=1e-5)
    if mask is not None:
        assert (probs.masked_select(~mask.expand_as(probs)) == 0).all(), "masked positions get exactly 0"
    # causal=True is the same as passing causal_mask, on both paths
    assert torch.allclose(attn(x, None, causal=True)[0], attn(x, causal_mask(T))[0], atol=1e-6)
    assert torch.equal(attn(x, None, True, causal=True)[1], attn(x, causal_mask(T), True)[1])


def test_probabilities_follow_equation_1():
    torch.manual_seed(0)
    attn = MultiHeadAttention(D, H).eval()
    x = torch.randn(1, 5, D)
    _, probs = attn(x, causal_mask(5), need_weights=True)
    q, k, _ = attn.qkv(x).split(D, dim=-1)
    q0, k0 = q[0, :, : D // H], k[0, :, : D // H]  # head 0
    scores = (q0 @ k0.T / math.sqrt(D // H)).masked_fill(~causal_mask(5)[0, 0], -math.inf)
    assert torch.allclose(probs[0, 0], torch.softmax(scores, -1), atol=1e-6)


def test_fully_masked_query_gives_zeros_on_both_paths():
    attn = MultiHeadAttention(D, H).eval()
    x = torch.randn(1, 3, D)
    mask = torch.tensor([[False, False, False], [True, False, False], [True, True, True]])[None, None]
    fast, slow = attn(x, mask)[0], attn(x, mask, need_weights=True)
    assert torch.isfinite(slow[1]).all() and (slow[1][0, :, 0] == 0).all()
    assert torch.allclose(fast, slow[0], atol=1e-5)


def test_sinusoidal_positions():
    pe = sinusoidal_positions(50, 8)
    assert pe.shape == (50, 8)
    # hand-checked: PE(p=3, 2i=2) = sin(3 / 10000^(2/8)) = sin(0.3); PE(3, 3) = cos(0.3)
    assert pe[3, 2].item() == pytest.approx(math.sin(0.3), abs=1e-6)
    assert pe[3, 3].item() == pytest.approx(math.cos(0.3), abs=1e-6)
    assert pe[0].tolist() == [0.0, 1.0] * 4
    assert sinusoidal_positions(4, 5).shape == (4, 5)  # odd width works
    model = make(positions="sinusoidal")
    assert "pos" not in dict(model.named_parameters()) and "pos" not in model.state_dict()
    tokens = model.tok(ids_batch(1))[0] * math.sqrt(model.config.d_model)  # Vaswani et al., section 3.4
    assert torch.allclose(model.embed(ids_batch(1))[0] - tokens, model.pos[:T], atol=1e-5)
    learned = make()
    assert torch.allclose(learned.embed(ids_batch(1))[0] - learned.tok(ids_batch(1))[0], learned.pos.weight[:T],
                          atol=1e-6)


def test_pre_and_post_norm_differ_and_have_the_right_layout():
    pre, post = make("pre"), make("post")
    assert isinstance(pre.ln_f, torch.nn.LayerNorm) and post.ln_f is None
    ids = ids_batch()
    a, b = pre(ids)[0], post(ids)[0]
    assert a.shape == b.shape == (3, T, D) and not torch.allclose(a, b, atol=1e-3)
    # post-norm: every block ends in a LayerNorm, so each position has mean 0 and unit variance
    assert torch.allclose(b.mean(-1), torch.zeros(3, T), atol=1e-5)
    # one post-norm block, by hand: x = LN1(x + attn(x)); x = LN2(x + mlp(x))
    block = post.blocks[0]
    x = torch.randn(2, T, D)
    h = block.ln1(x + block.attn(x)[0])
    assert torch.allclose(block(x)[0], block.ln2(h + block.mlp(h)), atol=1e-6)
    pblock = pre.blocks[0]
    h = x + pblock.attn(pblock.ln1(x))[0]
    assert torch.allclose(pblock(x)[0], h + pblock.mlp(pblock.ln2(h)), atol=1e-6)


def test_forward_returns_attentions_and_extra_embeddings():
    model = make()
    ids = ids_batch()
    hidden, attentions = model(ids, causal_mask(T), need_weights=True)
    assert hidden.shape == (3, T, D) and len(attentions) == 2 and attentions[0].shape == (3, H, T, T)
    assert model(ids)[1] == []
    extra = torch.randn(3, T, D)
    assert torch.allclose(model.embed(ids, extra), model.embed(ids) + extra)
    assert not torch.allclose(model(ids, extra=extra)[0], model(ids)[0])


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_run_blocks_returns_every_layer_on_request(norm):
    model = make(norm)
    x = model.embed(ids_batch())
    mask = padding_mask(torch.ones(3, T, dtype=torch.long))
    plain = model.run_blocks(x, mask, causal=True)
    assert isinstance(plain, BlocksOutput) and plain.attentions == [] and plain.hidden_states == []
    full = model.run_blocks(x, mask, need_weights=True, causal=True, all_layers=True)
    assert len(full.hidden_states) == 2 + 1 and len(full.attentions) == 2
    assert full.hidden_states[0] is x, "the first state is the stack's input"
    assert torch.allclose(full.hidden, plain.hidden, atol=1e-5) and full.hidden_states[-1] is full.hidden
    # each state is the previous one through its block (the last one then through ln_f when pre-norm)
    h = x
    for layer, block in enumerate(model.blocks, start=1):
        h, probs = block(h, mask, need_weights=True, causal=True)
        assert torch.equal(probs, full.attentions[layer - 1])
        expected = model.ln_f(h) if norm == "pre" and layer == len(model.blocks) else h
        assert torch.equal(full.hidden_states[layer], expected)
    # Transformer.forward is embed -> dropout -> run_blocks, and still returns (hidden, attentions)
    hidden, attentions = model(ids_batch(), mask, need_weights=True, causal=True)
    assert torch.equal(hidden, full.hidden) and len(attentions) == 2


def test_too_long_sequence_is_a_clear_error():
    model = make()
    with pytest.raises(ValueError, match=r"length 11 exceeds the model's max_len=10; truncate"):
        model(torch.zeros(1, T + 1, dtype=torch.long))
    with pytest.raises(ValueError, match="batch, length"):
        model(torch.zeros(T, dtype=torch.long))


@pytest.mark.parametrize("kwargs, message", [
    (dict(d_model=30, n_heads=4), "not divisible by n_heads"),
    (dict(n_layers=0), "n_layers must be a positive"),
    (dict(d_ff=0), "d_ff"),
    (dict(dropout=1.0), "dropout"),
    (dict(norm="sandwich"), "norm='sandwich'"),
    (dict(positions="rotary"), "positions"),
    (dict(activation="swish"), "activation"),
    (dict(layer_norm_eps=0.0), "layer_norm_eps"),
])
def test_config_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TransformerConfig(V, **kwargs)


def test_config_defaults_and_mask_dtype_check():
    config = TransformerConfig(V)
    assert (config.max_len, config.d_model, config.n_layers, config.n_heads, config.ff_width) == (128, 128, 2, 4, 512)
    block = Block(TransformerConfig(V, d_model=D, n_heads=H, d_ff=24, activation="relu"))
    assert block.mlp.fc.out_features == 24 and isinstance(block.mlp.act, torch.nn.ReLU)
    with pytest.raises(ValueError, match="boolean"):
        block(torch.randn(1, 3, D), torch.zeros(1, 1, 3, 3))


def test_dropout_only_in_training():
    torch.manual_seed(0)
    model = Transformer(TransformerConfig(V, max_len=T, d_model=D, n_heads=H, dropout=0.5))
    ids = ids_batch()
    model.train()
    assert not torch.allclose(model(ids, causal=True)[0], model(ids, causal=True)[0])
    model.eval()
    assert torch.equal(model(ids, causal=True)[0], model(ids, causal=True)[0])


def test_init_scales_residual_projections():
    torch.manual_seed(0)
    model = Transformer(TransformerConfig(V, max_len=T, d_model=64, n_layers=8, n_heads=4))
    assert model.blocks[0].attn.qkv.weight.std().item() == pytest.approx(0.02, rel=0.1)
    assert model.blocks[0].mlp.proj.weight.std().item() == pytest.approx(0.02 / 4, rel=0.1)
    assert (model.blocks[0].attn.qkv.bias == 0).all()


def test_init_schemes_are_a_choice_of_reset_parameters():
    assert INIT_SCHEMES == ("gpt2", "bert")
    torch.manual_seed(0)
    model = Transformer(TransformerConfig(V, max_len=T, d_model=64, n_layers=8, n_heads=4))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    model.reset_parameters("bert")  # N(0, 0.02) everywhere, no residual scaling
    for proj in (model.blocks[3].attn.proj, model.blocks[3].mlp.proj):
        assert proj.weight.std().item() == pytest.approx(0.02, rel=0.1) and (proj.bias == 0).all()
    assert model.tok.weight.std().item() == pytest.approx(0.02, rel=0.1)
    assert (model.blocks[0].ln1.weight == 2.0).all(), "LayerNorms are not touched"
    model.reset_parameters()  # GPT-2's, the default a new stack gets
    assert model.blocks[3].mlp.proj.weight.std().item() == pytest.approx(0.02 / 4, rel=0.1)
    assert model.blocks[3].mlp.fc.weight.std().item() == pytest.approx(0.02, rel=0.1)
    with pytest.raises(ValueError, match="unknown initialisation scheme 'xavier'"):
        model.reset_parameters("xavier")


def test_a_new_stack_is_pytorch_default_init_then_the_gpt2_scheme(monkeypatch):
    """The order of the random draws, which every seeded model of the book (and its saved outputs) relies on."""
    config = TransformerConfig(V, max_len=T, d_model=16, n_layers=2, n_heads=4)
    torch.manual_seed(0)
    built = Transformer(config)
    with monkeypatch.context() as patch:
        patch.setattr(Transformer, "reset_parameters", lambda self, scheme="gpt2": None)
        torch.manual_seed(0)
        bare = Transformer(config)  # PyTorch's default initialisation only
    bare.reset_parameters("gpt2")
    assert built.state_dict().keys() == bare.state_dict().keys()
    assert all(torch.equal(a, b) for a, b in zip(built.state_dict().values(), bare.state_dict().values()))


def test_init_normal_draws_weights_and_zeroes_biases():
    torch.manual_seed(0)
    layers = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.LayerNorm(64), torch.nn.Embedding(100, 64))
    init_normal(layers, std=0.5)
    assert layers[0].weight.std().item() == pytest.approx(0.5, rel=0.1) and (layers[0].bias == 0).all()
    assert layers[2].weight.std().item() == pytest.approx(0.5, rel=0.1)
    assert (layers[1].weight == 1).all() and (layers[1].bias == 0).all()


def test_activation_helper_is_public_and_matches_the_formulas():
    x = torch.linspace(-4, 4, 81)
    tanh_form = 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    exact = 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))
    assert torch.allclose(activation("gelu_tanh")(x), tanh_form, atol=1e-6)
    assert torch.allclose(activation("gelu")(x), exact, atol=1e-6)
    assert torch.equal(activation("relu")(x), x.clamp(min=0))
    assert not torch.allclose(activation("gelu_tanh")(x), exact, atol=1e-5), "the two GELUs differ"
    assert activation("gelu") is not activation("gelu"), "a new module each call"
    assert set(ACTIVATIONS) == {"gelu_tanh", "gelu", "relu"}
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        activation("swish")
    block = Block(TransformerConfig(V, d_model=D, n_heads=H, activation="gelu"))
    assert torch.equal(block.mlp.act(x), activation("gelu")(x))


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_bf16_autocast_forward_and_backward(norm):
    model = make(norm).train()
    ids = ids_batch()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        hidden, attentions = model(ids, padding_mask(torch.ones(3, T)), need_weights=True, causal=True)
        loss = hidden.float().pow(2).mean() + model(ids, causal=True)[0].float().mean()
    loss.backward()
    assert attentions[0].dtype == torch.bfloat16 and torch.isfinite(loss)  # autocast was active
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
