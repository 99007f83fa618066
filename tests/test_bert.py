import math

import pytest
import torch
import torch.nn.functional as F

from ptm_lib.data.mlm import mask_for_mlm
from ptm_lib.models import bert as bert_module
from ptm_lib.models.bert import (
    BERT,
    BertConfig,
    BertForPretraining,
    BertForSequenceClassification,
    BertForSpanExtraction,
    BertForTokenClassification,
    BiLSTMTop,
    best_span,
    mean_pool,
    mlm_loss,
    pretraining_loss,
    sequence_classification_loss,
    span_loss,
    token_classification_loss,
)
from ptm_lib.models.gpt import GPT
from ptm_lib.models.transformer import Block, Transformer, TransformerConfig, activation, init_normal, padding_mask
from ptm_lib.train import IGNORE, fit

V, T, D, H, L = 31, 12, 16, 4, 2
CLS, SEP, PAD, MASK = 1, 2, 0, 3


def config(**kw):
    return BertConfig(V, max_len=T, d_model=D, n_layers=L, n_heads=H, **kw)


@pytest.fixture
def bert():
    torch.manual_seed(0)
    return BERT(config()).eval()


def batch_ids(batch=3, length=T, seed=1):
    return torch.randint(4, V, (batch, length), generator=torch.Generator().manual_seed(seed))


def test_config_defaults_are_berts_and_checked():
    c = config()
    assert isinstance(c, TransformerConfig)
    assert (c.norm, c.activation, c.layer_norm_eps, c.type_vocab_size) == ("post", "gelu", 1e-12, 2)
    with pytest.raises(ValueError, match="norm='sandwich'; use one of"):
        config(norm="sandwich")
    with pytest.raises(ValueError, match="type_vocab_size"):
        config(type_vocab_size=0)
    with pytest.raises(ValueError, match="BertConfig"):
        BERT(TransformerConfig(V))


def test_a_pre_norm_bert_ends_its_stack_with_a_layernorm():
    """norm="pre" (our small BERTs' option): every block normalises its input, and the stack's
    output goes through the final LayerNorm, so the last hidden state is normalised."""
    torch.manual_seed(0)
    model = BERT(config(norm="pre")).eval()
    assert model.transformer.ln_f is not None and all(block.pre_norm for block in model.transformer.blocks)
    out = model(batch_ids())
    last = out.hidden_states[-1]
    assert torch.equal(out.hidden, last)
    normalised = (last - last.mean(-1, keepdim=True)) / last.std(-1, unbiased=False, keepdim=True)
    weight, bias = model.transformer.ln_f.weight, model.transformer.ln_f.bias
    assert torch.allclose(last, normalised * weight + bias, atol=1e-4)


def test_output_shapes_and_hidden_states(bert):
    ids = batch_ids()
    out = bert(ids)
    assert out.hidden.shape == (3, T, D) and out.pooled.shape == (3, D)
    assert len(out.hidden_states) == L + 1 and out.attentions == ()
    assert torch.equal(out.hidden_states[-1], out.hidden)
    assert torch.allclose(out.pooled, torch.tanh(out.hidden[:, 0] @ bert.pooler.weight.T + bert.pooler.bias))
    assert torch.allclose(out.hidden_states[0], bert.embed(ids))
    with_weights = bert(ids, need_weights=True)
    assert len(with_weights.attentions) == L and with_weights.attentions[0].shape == (3, H, T, T)
    assert torch.allclose(with_weights.hidden, out.hidden, atol=1e-5), "explicit and fused attention agree"


def test_embedding_is_layernorm_of_token_position_segment(bert):
    ids = batch_ids(2)
    segments = torch.zeros_like(ids)
    segments[:, T // 2:] = 1
    t = bert.transformer
    x = t.tok.weight[ids] + t.pos.weight[:T] + bert.segment.weight[segments]
    expected = F.layer_norm(x, (D,), bert.embed_norm.weight, bert.embed_norm.bias, eps=1e-12)
    assert torch.allclose(bert.embed(ids, segments), expected, atol=1e-5)
    assert torch.equal(bert.embed(ids), bert.embed(ids, torch.zeros_like(ids))), "segments default to 0"
    assert not torch.allclose(bert(ids, segments).hidden, bert(ids).hidden), "segment ids matter"


def test_blocks_are_the_shared_post_norm_transformer_blocks(bert):
    assert all(type(b) is Block for b in bert.transformer.blocks)
    assert {type(b) for b in GPT(TransformerConfig(V)).transformer.blocks} == {Block}
    # the same weights in a plain post-norm Transformer stack give BERT's layers
    stack = Transformer(TransformerConfig(V, max_len=T, d_model=D, n_layers=L, n_heads=H, norm="post",
                                          activation="gelu", layer_norm_eps=1e-12)).eval()
    stack.load_state_dict(bert.transformer.state_dict())
    ids = batch_ids()
    attention = torch.ones_like(ids)
    attention[0, 5:] = 0
    expected = stack.run_blocks(bert.embed(ids), padding_mask(attention), need_weights=True, all_layers=True)
    got = bert(ids, attention_mask=attention, need_weights=True)
    assert torch.allclose(got.hidden, expected.hidden, atol=1e-6)
    assert len(got.hidden_states) == len(expected.hidden_states) == L + 1
    assert all(torch.equal(a, b) for a, b in zip(got.hidden_states, expected.hidden_states))
    assert all(torch.equal(a, b) for a, b in zip(got.attentions, expected.attentions))


def test_forward_is_embed_then_run_blocks_then_pool(bert):
    ids, segments = batch_ids(), torch.zeros(3, T, dtype=torch.long)
    segments[:, 5:] = 1
    attention = torch.ones_like(ids)
    attention[2, 8:] = 0
    out = bert(ids, segments, attention, need_weights=True)
    blocks = bert.transformer.run_blocks(bert.embed(ids, segments), padding_mask(attention), need_weights=True,
                                         all_layers=True)  # eval mode: the dropout is the identity
    assert torch.equal(out.hidden, blocks.hidden) and torch.equal(out.pooled, bert.pool(blocks.hidden))
    assert len(out.hidden_states) == L + 1 and len(out.attentions) == L
    for a, b in zip(out.hidden_states + out.attentions, blocks.hidden_states + blocks.attentions):
        assert torch.equal(a, b)


def test_every_position_sees_the_whole_sequence(bert):
    ids = batch_ids()
    changed = ids.clone()
    changed[:, -1] = (changed[:, -1] + 1) % V
    assert not torch.allclose(bert(changed).hidden[:, 0], bert(ids).hidden[:, 0]), "no causal mask in BERT"


def test_the_left_to_right_control_sees_only_its_left():
    """attention="left-to-right" (chapter 7's control): changing a token changes nothing before it."""
    torch.manual_seed(0)
    control = BERT(config(attention="left-to-right")).eval()
    ids = batch_ids()
    changed = ids.clone()
    changed[:, 6:] = (changed[:, 6:] + 1) % V
    assert torch.equal(control(changed).hidden[:, :6], control(ids).hidden[:, :6])
    assert not torch.allclose(control(changed).hidden[:, 6], control(ids).hidden[:, 6])
    assert config().attention == "bidirectional"
    with pytest.raises(ValueError, match="attention must be one of .*got 'causal'"):
        config(attention="causal")


def test_padding_is_ignored_and_gets_no_attention(bert):
    ids = batch_ids(2)
    attention = torch.ones_like(ids)
    attention[0, 7:] = 0
    attention[1, 3:] = 0
    real = attention.bool()
    base = bert(ids, attention_mask=attention, need_weights=True)
    other = torch.where(real, ids, (ids + 3) % V)
    out = bert(other, attention_mask=attention)
    assert torch.allclose(out.hidden[real], base.hidden[real], atol=1e-6)
    assert torch.allclose(out.pooled, base.pooled, atol=1e-6)
    for probs in base.attentions:
        assert torch.allclose(probs.sum(-1), torch.ones(2, H, T), atol=1e-5)
        assert torch.all(probs[0, :, :, 7:] == 0) and torch.all(probs[1, :, :, 3:] == 0)
    assert not torch.allclose(bert(other).hidden[real], bert(ids).hidden[real]), "unmasked, padding would matter"


def test_clear_errors(bert):
    with pytest.raises(ValueError, match="exceeds the model's max_len=12"):
        bert(torch.zeros(1, T + 1, dtype=torch.long))
    with pytest.raises(ValueError, match="segment ids must lie in 0..1"):
        bert(batch_ids(), torch.full((3, T), 2))
    with pytest.raises(ValueError, match="segments has shape"):
        bert(batch_ids(), torch.zeros(3, T - 1, dtype=torch.long))
    with pytest.raises(ValueError, match="attention_mask has shape"):
        bert(batch_ids(), attention_mask=torch.ones(3, T - 1))
    with pytest.raises(ValueError, match="batch, length"):
        bert(torch.zeros(T, dtype=torch.long))


def test_mean_pool_averages_real_tokens_only():
    hidden = torch.arange(12.0).view(1, 4, 3).repeat(2, 1, 1)
    attention = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
    pooled = mean_pool(hidden, attention)
    assert torch.allclose(pooled[0], hidden[0].mean(0)) and torch.allclose(pooled[1], hidden[1, :2].mean(0))
    assert torch.allclose(mean_pool(hidden), hidden.mean(1))


# --- pretraining ---

@pytest.fixture
def pretraining():
    torch.manual_seed(0)
    return BertForPretraining(config()).eval()


def masked_batch(batch=4, seed=0):
    ids = batch_ids(batch, seed=seed)
    ids[:, 0], ids[:, 6], ids[:, -1] = CLS, SEP, SEP
    segments = torch.zeros_like(ids)
    segments[:, 7:] = 1
    attention = torch.ones_like(ids)
    attention[1, 9:] = 0
    ids[1, 9:] = PAD
    inputs, labels = mask_for_mlm(ids, V, {CLS, SEP, PAD, MASK}, MASK, generator=torch.Generator().manual_seed(seed))
    return {"ids": inputs, "segments": segments, "attention_mask": attention, "labels": labels,
            "is_next": torch.tensor([1, 0, 1, 0])[:batch]}


def test_mlm_head_is_tied_and_follows_berts_formula(pretraining):
    head = pretraining.mlm
    assert head.decoder.weight is pretraining.bert.transformer.tok.weight
    h = torch.randn(2, 5, D)
    expected = F.layer_norm(F.gelu(h @ head.dense.weight.T + head.dense.bias), (D,), head.norm.weight,
                            head.norm.bias, eps=1e-12) @ pretraining.bert.transformer.tok.weight.T + head.decoder.bias
    assert torch.allclose(head(h), expected, atol=1e-5)
    n_unique = sum(p.numel() for p in pretraining.parameters())
    assert n_unique == pretraining.bert.num_parameters() + D * D + D + 2 * D + V + 2 * D + 2


def test_pretraining_loss_is_masked_lm_plus_nsp(pretraining):
    batch = masked_batch()
    mlm_logits, nsp_logits = pretraining(batch["ids"], batch["segments"], batch["attention_mask"])
    assert mlm_logits.shape == (4, T, V) and nsp_logits.shape == (4, 2)
    mlm = F.cross_entropy(mlm_logits.flatten(0, 1), batch["labels"].flatten(), ignore_index=IGNORE)
    nsp = F.cross_entropy(nsp_logits, 1 - batch["is_next"])  # class 0 = IsNext
    assert torch.allclose(mlm_loss(pretraining, batch), mlm, atol=1e-5)
    assert torch.allclose(pretraining_loss(pretraining, batch), mlm + nsp, atol=1e-5)
    assert (batch["labels"] != IGNORE).sum() < batch["labels"].numel() / 4, "only the chosen positions are scored"


def test_loss_errors(pretraining):
    batch = masked_batch()
    with pytest.raises(ValueError, match="lacks \\['is_next'\\]"):
        pretraining_loss(pretraining, {k: v for k, v in batch.items() if k != "is_next"})
    with pytest.raises(ValueError, match="no position of the batch is masked"):
        mlm_loss(pretraining, {**batch, "labels": torch.full_like(batch["labels"], IGNORE)})
    with pytest.raises(ValueError, match="dict batch"):
        mlm_loss(pretraining, (batch["ids"], batch["labels"]))


def test_pretraining_learns_a_fixed_batch(pretraining):
    batch = masked_batch(4)
    before = pretraining_loss(pretraining, batch).item()
    fit(pretraining, [batch], pretraining_loss, steps=100, lr=3e-3)
    assert before > math.log(V) - 1.5
    assert pretraining_loss(pretraining.eval(), batch).item() < 0.3


def test_trains_under_bf16_autocast(pretraining):
    history = fit(pretraining, [masked_batch()], pretraining_loss, steps=2, amp="bf16", device="cpu")
    assert all(math.isfinite(r["loss"]) for r in history.train)


# --- fine-tuning heads ---

def test_sequence_classification_uses_the_pooled_cls_vector():
    torch.manual_seed(0)
    model = BertForSequenceClassification(config(), num_labels=3).eval()
    ids = batch_ids()
    out = model.bert(ids)
    assert torch.allclose(model(ids), model.classifier(out.pooled))
    with pytest.raises(ValueError, match="num_labels"):
        BertForSequenceClassification(config(), num_labels=0)


def test_sequence_classifier_learns_a_task_that_needs_right_context():
    """Label = does token 5 occur after position 0? Position 0 ([CLS]) must look right."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(6, V, (64, 8), generator=g)
    labels = torch.arange(64) % 2
    ids[labels == 1, torch.randint(1, 8, (32,), generator=g)] = 5
    ids[:, 0] = CLS
    model = BertForSequenceClassification(BertConfig(V, max_len=8, d_model=D, n_layers=1, n_heads=H), 2)
    batch = {"ids": ids, "labels": labels}
    fit(model, [batch], sequence_classification_loss, steps=150, lr=3e-3)
    model.eval()
    assert (model(ids).argmax(-1) == labels).float().mean() > 0.95


def test_token_classification_shapes_and_ignored_labels():
    torch.manual_seed(0)
    model = BertForTokenClassification(config(), num_labels=4).eval()
    ids = batch_ids()
    logits = model(ids)
    assert logits.shape == (3, T, 4)
    labels = torch.randint(0, 4, (3, T))
    labels[:, 5:] = IGNORE
    expected = F.cross_entropy(logits[:, :5].flatten(0, 1), labels[:, :5].flatten())
    assert torch.allclose(token_classification_loss(model, {"ids": ids, "labels": labels}), expected, atol=1e-6)


def test_span_extraction_scores_and_best_span():
    torch.manual_seed(0)
    model = BertForSpanExtraction(config()).eval()
    ids = batch_ids(2)
    attention = torch.ones_like(ids)
    attention[1, 6:] = 0
    start, end = model(ids, attention_mask=attention)
    hidden = model.bert(ids, attention_mask=attention).hidden
    S, E = model.span.weight
    assert torch.allclose(start[0], hidden[0] @ S + model.span.bias[0], atol=1e-6)
    assert torch.allclose(end[0], hidden[0] @ E + model.span.bias[1], atol=1e-6)
    assert torch.isinf(start[1, 6:]).all() and torch.isinf(end[1, 6:]).all()
    loss = span_loss(model, {"ids": ids, "attention_mask": attention, "start": torch.tensor([1, 2]),
                             "end": torch.tensor([3, 4])})
    assert math.isfinite(loss.item())
    s = torch.tensor([[0.0, 5.0, 0.0, 0.0, 9.0]])
    e = torch.tensor([[0.0, 0.0, 8.0, 7.0, -9.0]])
    assert best_span(s, e).tolist() == [[1, 2]], "the end may not come before the start (4, 2)"
    assert best_span(s, e, max_length=1).tolist() == [[2, 2]], "one-token spans only: 0 + 8 is the best"


def test_a_left_to_right_model_pools_its_last_real_token():
    """Its [CLS] sees only itself, so a classifier reading it would read a constant (chapter 8's LTR ablation)."""
    torch.manual_seed(0)
    control = BERT(config(attention="left-to-right")).eval()
    ids = batch_ids()
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0
    out = control(ids, attention_mask=mask)
    assert torch.allclose(out.pooled[0], torch.tanh(control.pooler(out.hidden[0, -1])))
    assert torch.allclose(out.pooled[1], torch.tanh(control.pooler(out.hidden[1, 6])))  # the last real token
    assert torch.allclose(control(ids).pooled, torch.tanh(control.pooler(control(ids).hidden[:, -1])))
    changed = ids.clone()
    changed[:, 5] = (changed[:, 5] + 1) % V
    assert not torch.allclose(control(changed).pooled, control(ids).pooled)  # the summary sees the input


def test_the_bilstm_top_reads_both_sides_and_skips_padding():
    """The "+ BiLSTM" of BERT's table 5: every output sees the whole input again, padding none of it."""
    torch.manual_seed(0)
    top = BiLSTMTop(D).eval()
    hidden = torch.randn(2, T, D)
    mask = torch.ones(2, T, dtype=torch.long)
    mask[1, 7:] = 0
    out = top(hidden, mask)
    assert out.shape == (2, T, D)
    alone = top(hidden[1:, :7])  # the second row without its padding
    assert torch.allclose(out[1, :7], alone[0], atol=1e-6)
    later = hidden.clone()
    later[:, 6] += 1.0
    assert not torch.allclose(top(later, mask)[:, 0], out[:, 0])  # position 0 sees a change to its right
    with pytest.raises(ValueError, match="use an even width"):
        BiLSTMTop(15)


@pytest.mark.parametrize("head", ["sequence", "token", "span"])
def test_every_head_can_read_a_bilstm_top_instead_of_the_last_layer(head):
    torch.manual_seed(0)
    make = {"sequence": lambda **kw: BertForSequenceClassification(config(attention="left-to-right"), 3, **kw),
            "token": lambda **kw: BertForTokenClassification(config(attention="left-to-right"), 3, **kw),
            "span": lambda **kw: BertForSpanExtraction(config(attention="left-to-right"), **kw)}[head]
    plain, topped = make().eval(), make(bilstm_top=True).eval()
    assert plain.top is None and isinstance(topped.top, BiLSTMTop)
    assert topped.extra_args()["bilstm_top"] and not plain.extra_args()["bilstm_top"]
    ids = batch_ids()
    changed = ids.clone()
    changed[:, -1] = (changed[:, -1] + 1) % V
    first = {"sequence": lambda m, x: m(x), "token": lambda m, x: m(x)[:, 0], "span": lambda m, x: m(x)[0][:, 0]}[head]
    if head != "sequence":  # a left-to-right encoder's first token cannot see the last; the top's can
        assert torch.allclose(first(plain, changed), first(plain, ids))
    assert not torch.allclose(first(topped, changed), first(topped, ids))


# (saving and loading every BERT head: tests/test_checkpoints.py)


def test_ignore_is_the_one_label_of_ptm_lib_train():
    assert bert_module.IGNORE is IGNORE == -100  # still importable from models.bert


def test_masked_lm_head_uses_the_configured_activation():
    head = BertForPretraining(config(activation="gelu_tanh")).mlm
    x = torch.randn(5, D)
    assert torch.equal(head.act(x), activation("gelu_tanh")(x))


def test_bert_init_is_its_own_scheme_drawn_after_the_whole_encoder_is_built(monkeypatch):
    """BERT.reset_parameters: the stack with the "bert" scheme, then the segment table and the pooler,
    drawn after everything is built (the order of the random draws that the seeded models of chapter 7,
    and so its saved outputs and checkpoints, rely on)."""
    c = config()
    torch.manual_seed(0)
    bert = BERT(c)
    torch.manual_seed(0)
    stack = Transformer(c)  # PyTorch's default init, then GPT-2's
    segment, norm, pooler = (torch.nn.Embedding(c.type_vocab_size, D), torch.nn.LayerNorm(D, eps=c.layer_norm_eps),
                             torch.nn.Linear(D, D))
    init_normal(stack, segment, pooler)  # N(0, 0.02) everywhere, in module order
    expected = {**{f"transformer.{k}": v for k, v in stack.state_dict().items()},
                **{f"segment.{k}": v for k, v in segment.state_dict().items()},
                **{f"embed_norm.{k}": v for k, v in norm.state_dict().items()},
                **{f"pooler.{k}": v for k, v in pooler.state_dict().items()}}
    assert bert.state_dict().keys() == expected.keys()
    assert all(torch.equal(v, expected[k]) for k, v in bert.state_dict().items())
    # reset_parameters is the per-model choice, and __init__ calls it
    calls = []
    monkeypatch.setattr(BERT, "reset_parameters", lambda self: calls.append(self))
    again = BERT(c)
    assert calls == [again]


def test_bert_initialises_every_weight_as_the_paper_not_with_gpt2_residual_scaling():
    # GPT-2 shrinks the two residual projections by 1/sqrt(2 n_layers) (0.005 here); BERT keeps N(0, 0.02)
    torch.manual_seed(0)
    bert = BERT(BertConfig(1000, max_len=32, d_model=256, n_layers=8, n_heads=4))
    for block in bert.transformer.blocks:
        for proj in (block.attn.proj, block.mlp.proj):
            assert abs(proj.weight.std().item() - 0.02) < 0.002
    assert abs(bert.transformer.tok.weight.std().item() - 0.02) < 0.002
    with torch.no_grad():
        for p in bert.parameters():
            p.add_(1.0)
    bert.reset_parameters()
    assert abs(bert.transformer.blocks[7].mlp.proj.weight.std().item() - 0.02) < 0.002
    assert abs(bert.segment.weight.std().item() - 0.02) < 0.005 and (bert.pooler.bias == 0).all()
    assert (bert.embed_norm.weight == 2.0).all(), "LayerNorms are left as they are"
