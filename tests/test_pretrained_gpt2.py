"""Parity with Hugging Face GPT-2 on the same (random, small) weights; nothing is downloaded."""

import json

import pytest
import torch

from ptm_lib.models.gpt import GPT
from ptm_lib.models.transformer import TransformerConfig
from ptm_lib.pretrained import gpt2_state_dict, load_gpt2, save_gpt2

transformers = pytest.importorskip("transformers")
V, CTX = 97, 32


@pytest.fixture(autouse=True)
def quiet_transformers():
    transformers.utils.logging.set_verbosity_error()
    yield


def hf_model(**kw):
    """A small random GPT2LMHeadModel; weights scaled up so that logits are O(1) and any
    mis-mapped (e.g. un-transposed) matrix changes them visibly."""
    torch.manual_seed(0)
    config = transformers.GPT2Config(n_layer=2, n_embd=32, n_head=4, n_positions=CTX, vocab_size=V,
                                     bos_token_id=0, eos_token_id=0, **kw)
    model = transformers.GPT2LMHeadModel(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.add_(torch.randn_like(p) * (0.3 if p.dim() > 1 else 0.1))
    return model


def random_ids(batch=3, length=12):
    return torch.randint(0, V, (batch, length), generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("gpt2")
    model = hf_model()
    model.save_pretrained(path)
    return model, path


def test_logits_match_hugging_face(saved):
    hf, path = saved
    ours = load_gpt2(path)
    assert not ours.training and ours.config.max_len == CTX and ours.config.activation == "gelu_tanh"
    ids = random_ids()
    with torch.no_grad():
        expected = hf(ids).logits
    assert expected.abs().max() > 1.0, "the test needs logits large enough to notice a wrong weight"
    assert torch.allclose(ours(ids), expected, atol=1e-5)
    assert ours.num_parameters() == hf.num_parameters()


def test_every_layer_matches_hugging_face(saved):
    """run_blocks(all_layers=True) gives Hugging Face's output_hidden_states: the input, each block's
    output, and the last one after ln_f."""
    hf, path = saved
    ours = load_gpt2(path)
    ids = random_ids()
    with torch.no_grad():
        expected = hf(ids, output_hidden_states=True).hidden_states
        t = ours.transformer
        got = t.run_blocks(t.embed(ids), causal=True, all_layers=True)
    assert len(got.hidden_states) == len(expected) == 3
    for a, b in zip(got.hidden_states, expected):
        assert torch.allclose(a, b, atol=1e-5)
    assert torch.equal(got.hidden_states[-1], got.hidden)


def test_logits_match_with_right_padding(saved):
    hf, path = saved
    ours = load_gpt2(path)
    ids = random_ids()
    attention = torch.ones_like(ids)
    attention[1, 7:] = 0
    attention[2, 3:] = 0
    with torch.no_grad():
        expected = hf(ids, attention_mask=attention).logits
    got = ours(ids, attention)
    real = attention.bool()
    assert torch.allclose(got[real], expected[real], atol=1e-5)


def test_greedy_continuation_matches_hugging_face(saved):
    hf, path = saved
    ours = load_gpt2(path)
    prompt = random_ids(2, 5)
    expected = hf.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=20, do_sample=False,
                           pad_token_id=0, eos_token_id=None)
    assert expected.shape == (2, 25)
    assert torch.equal(ours.generate(prompt, 20, greedy=True), expected)


def test_pytorch_model_bin_without_prefix_and_with_old_mask_buffers(saved, tmp_path):
    """The original ``gpt2`` files: no ``transformer.`` prefix, a causal-mask buffer per layer, lm_head stored."""
    hf, path = saved
    state = {k.removeprefix("transformer."): v for k, v in hf.state_dict().items()}
    for i in range(2):
        state[f"h.{i}.attn.bias"] = torch.ones(1, 1, CTX, CTX).tril()
    state["lm_head.weight"] = state["wte.weight"].clone()
    torch.save(state, tmp_path / "pytorch_model.bin")
    (tmp_path / "config.json").write_text((path / "config.json").read_text())
    ours = load_gpt2(tmp_path)
    ids = random_ids()
    with torch.no_grad():
        assert torch.allclose(ours(ids), hf(ids).logits, atol=1e-5)


def test_round_trip_our_model_into_transformers(tmp_path):
    torch.manual_seed(0)
    ours = GPT(TransformerConfig(V, max_len=CTX, d_model=32, n_layers=2, n_heads=4, d_ff=48)).eval()
    with torch.no_grad():
        for p in ours.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    save_gpt2(ours, tmp_path)
    hf = transformers.GPT2LMHeadModel.from_pretrained(tmp_path).eval()
    ids = random_ids()
    with torch.no_grad():
        assert torch.allclose(hf(ids).logits, ours(ids), atol=1e-5)
    again = load_gpt2(tmp_path)
    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), ours.state_dict().values()))
    state = gpt2_state_dict(ours)
    assert state["transformer.h.0.mlp.c_fc.weight"].shape == (32, 48), "Conv1D weights are stored (in, out)"
    assert "lm_head.weight" not in state


def test_missing_directory_mentions_the_download_switch(tmp_path):
    with pytest.raises(FileNotFoundError, match="allow_download=True"):
        load_gpt2(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="allow_download=True"):
        load_gpt2("gpt2")  # a Hub id is not fetched unless asked


def test_missing_files_are_clear_errors(saved, tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_gpt2(tmp_path)
    (tmp_path / "config.json").write_text((saved[1] / "config.json").read_text())
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        load_gpt2(tmp_path)


def test_unexpected_and_missing_keys_are_listed(saved, tmp_path):
    hf, path = saved
    (tmp_path / "config.json").write_text((path / "config.json").read_text())
    state = dict(hf.state_dict())
    del state["transformer.h.1.mlp.c_fc.bias"]
    state["transformer.h.0.attn.q_attn.weight"] = torch.zeros(32, 32)
    torch.save(state, tmp_path / "pytorch_model.bin")
    with pytest.raises(ValueError, match=r"missing \['h.1.mlp.c_fc.bias'\], unexpected \['h.0.attn.q_attn.weight'\]"):
        load_gpt2(tmp_path)


@pytest.mark.parametrize("change, message", [
    ({"activation_function": "swish"}, "activation_function='swish'"),
    ({"scale_attn_by_inverse_layer_idx": True}, "scale_attn_by_inverse_layer_idx"),
    ({"tie_word_embeddings": False}, "tie_word_embeddings"),
    ({"model_type": "bert"}, "GPT-2 checkpoints only"),
])
def test_unsupported_config_is_a_clear_error(saved, tmp_path, change, message):
    config = json.loads((saved[1] / "config.json").read_text())
    config.update(change)
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "model.safetensors").write_bytes((saved[1] / "model.safetensors").read_bytes())
    with pytest.raises(ValueError, match=message):
        load_gpt2(tmp_path)


def test_save_refuses_what_gpt2_cannot_hold(tmp_path):
    model = GPT(TransformerConfig(V, max_len=CTX, d_model=32, n_heads=4, norm="post"))
    with pytest.raises(ValueError, match="norm='pre'"):
        save_gpt2(model, tmp_path)
