import math

import pytest
import torch

from ptm_lib.models.gpt import GPT, lm_loss, sample
from ptm_lib.models.transformer import Transformer, TransformerConfig, padding_mask
from ptm_lib.train import fit

V, T, D = 31, 16, 32


@pytest.fixture
def model():
    torch.manual_seed(0)
    return GPT(TransformerConfig(V, max_len=T, d_model=D, n_layers=2, n_heads=4))


def test_tied_weights_and_shapes(model):
    assert model.lm_head.weight is model.transformer.tok.weight
    ids = torch.randint(0, V, (3, T))
    assert model(ids).shape == (3, T, V)
    hidden, attentions = model.hidden(ids, need_weights=True)
    assert hidden.shape == (3, T, D) and len(attentions) == 2
    assert torch.allclose(model(ids), hidden @ model.transformer.tok.weight.T, atol=1e-5)
    # the causal mask is applied: attention to later positions is exactly zero
    lower = torch.ones(T, T, dtype=torch.bool).tril().expand_as(attentions[0])
    assert (attentions[0][~lower] == 0).all() and (attentions[0][lower] > 0).all()


def test_forward_is_embed_then_causal_run_blocks_then_tied_head(model):
    model.eval()
    ids = torch.randint(0, V, (2, T))
    attention = torch.ones_like(ids)
    attention[1, 10:] = 0
    t = model.transformer
    out = t.run_blocks(t.embed(ids), padding_mask(attention), causal=True)  # eval: the dropout is the identity
    assert torch.equal(model(ids, attention), model.lm_head(out.hidden))
    assert torch.equal(model(ids), model.lm_head(t.run_blocks(t.embed(ids), causal=True).hidden))


def test_gpt_keeps_the_stacks_gpt2_initialisation():
    config = TransformerConfig(V, max_len=T, d_model=64, n_layers=8, n_heads=4)
    torch.manual_seed(0)
    gpt = GPT(config)
    torch.manual_seed(0)
    stack = Transformer(config)
    assert all(torch.equal(a, b) for a, b in zip(gpt.transformer.state_dict().values(), stack.state_dict().values()))
    assert gpt.transformer.blocks[0].mlp.proj.weight.std().item() == pytest.approx(0.02 / 4, rel=0.1)
    assert gpt.transformer.blocks[0].mlp.fc.weight.std().item() == pytest.approx(0.02, rel=0.1)


def test_num_parameters_counts_the_tied_matrix_once(model):
    d, ff = D, 4 * D
    per_block = 4 * d + (3 * d * d + 3 * d) + (d * d + d) + (d * ff + ff) + (ff * d + d)  # 2 LNs, qkv, proj, mlp
    expected = V * d + T * d + 2 * per_block + 2 * d
    assert model.num_parameters() == expected
    assert expected < sum(p.numel() for _, p in model.named_parameters(remove_duplicate=False))


def test_padding_on_the_right_does_not_change_real_positions(model):
    model.eval()
    ids = torch.randint(0, V, (2, T))
    attention = torch.ones(2, T, dtype=torch.long)
    attention[1, 9:] = 0
    padded = model(ids, attention)
    assert torch.allclose(padded[1, :9], model(ids[1:, :9])[0], atol=1e-5)
    assert torch.allclose(padded[0], model(ids[:1])[0], atol=1e-5)
    with pytest.raises(ValueError, match="one 1/0 per token"):
        model(ids, attention[:, :5])


def test_lm_loss_learns_a_repeated_corpus(model):
    period = torch.randperm(V, generator=torch.Generator().manual_seed(0))[:12]
    corpus = period.repeat(40)
    windows = corpus.unfold(0, T + 1, 1)  # (N, T + 1)
    batches = [windows[i:i + 16] for i in range(0, len(windows) - 16, 16)]
    first = lm_loss(model, batches[0]).item()
    assert first == pytest.approx(math.log(V), abs=0.3), "untrained: about uniform"
    history = fit(model, batches, lm_loss, steps=100, lr=3e-3, log_every=10)
    assert history.last("loss", "train") < 0.1  # from log(V) = 3.4: each token determines the next


def test_lm_loss_is_next_token_cross_entropy(model):
    batch = torch.randint(0, V, (2, 6))
    logits = model(batch[:, :-1])
    by_hand = -torch.log_softmax(logits, -1).gather(-1, batch[:, 1:, None]).mean()
    assert lm_loss(model, batch).item() == pytest.approx(by_hand.item(), abs=1e-5)
    with pytest.raises(ValueError, match="length \\+ 1"):
        lm_loss(model, torch.zeros(2, 1, dtype=torch.long))


def test_top_k_1_and_temperature_0_are_greedy(model):
    prompt = torch.randint(0, V, (3, 4))
    greedy = model.generate(prompt, 8, greedy=True)
    assert greedy.shape == (3, 12) and torch.equal(greedy[:, :4], prompt)
    g = torch.Generator().manual_seed(0)
    assert torch.equal(model.generate(prompt, 8, top_k=1, generator=g), greedy)
    assert torch.equal(model.generate(prompt, 8, temperature=0), greedy)
    assert torch.equal(model.generate(prompt, 8, temperature=0.0), greedy)  # a float zero is greedy too
    assert torch.equal(model.generate(prompt, 8, temperature=1e-6, generator=g), greedy)  # the limit
    # greedy takes the argmax at each step
    logits = model(greedy[:, :4])[:, -1]
    assert torch.equal(greedy[:, 4], logits.argmax(-1))


def test_sampling_is_reproducible_with_a_seeded_generator(model):
    prompt = torch.zeros(4, 1, dtype=torch.long)
    a = model.generate(prompt, 10, generator=torch.Generator().manual_seed(1))
    b = model.generate(prompt, 10, generator=torch.Generator().manual_seed(1))
    c = model.generate(prompt, 10, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_top_k_keeps_only_the_k_largest():
    logits = torch.tensor([[0.0, 5.0, 4.0, -1.0, 4.5]]).repeat(500, 1)
    drawn = sample(logits, top_k=3, generator=torch.Generator().manual_seed(0)).flatten()
    assert set(drawn.tolist()) == {1, 2, 4}
    high = sample(logits, temperature=100.0, generator=torch.Generator().manual_seed(0)).flatten()
    assert set(high.tolist()) == {0, 1, 2, 3, 4}, "a high temperature flattens the distribution"


def test_generate_crops_context_and_restores_mode(model):
    with torch.no_grad():  # larger weights, so that predictions depend on the whole context
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    model.train()
    long = model.generate(torch.randint(0, V, (2, T + 5)), 6, greedy=True)
    assert long.shape == (2, T + 11) and model.training
    with pytest.raises(ValueError, match="outside the vocabulary"):  # fails inside the loop: mode still restored
        model.generate(torch.full((1, 2), V), 2)
    assert model.training and torch.is_grad_enabled()
    # each step saw exactly the last max_len tokens
    model.eval()
    for j in range(T + 5, T + 11):
        assert long[0, j] == model(long[:1, j - T:j])[0, -1].argmax()


@pytest.mark.parametrize("kwargs, message", [
    (dict(temperature=-1.0), "temperature"),
    (dict(top_k=0), "top_k"),
    (dict(max_new_tokens=-1), "max_new_tokens"),
])
def test_generate_argument_errors(model, kwargs, message):
    args = {"max_new_tokens": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        model.generate(torch.zeros(1, 2, dtype=torch.long), **args)
    with pytest.raises(ValueError, match="LongTensor"):
        model.generate(torch.zeros(2, dtype=torch.long), 2)


def test_trains_under_bf16_autocast(model):
    batches = [torch.randint(0, V, (4, T + 1)) for _ in range(2)]
    history = fit(model, batches, lm_loss, steps=3, amp="bf16", device="cpu", log_every=1)
    assert len(history.train) == 3 and all(math.isfinite(r["loss"]) for r in history.train)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert lm_loss(model, batches[0]).dtype == torch.float32
