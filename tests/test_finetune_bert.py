import pytest
import torch

from ptm_lib.data.wordpiece import train_wordpiece
from ptm_lib.evaluate import predict
from ptm_lib.finetune.bert import classification_accuracy, encode_texts, fine_tune
from ptm_lib.models.bert import BertConfig, BertForSequenceClassification, sequence_classification_loss

CORPUS = ["the cat sat on the mat", "a dog ran in the park", "stocks fell as the bank raised rates",
          "the team won the cup final", "rain is expected in the north tomorrow"] * 4


@pytest.fixture(scope="module")
def tokenizer():
    return train_wordpiece(CORPUS, vocab_size=80)


def test_single_texts_are_wrapped_padded_and_cut_at_the_end(tokenizer):
    data = encode_texts(tokenizer, ["the cat sat on the mat", "a dog"], max_len=6)
    ids, mask = data["ids"], data["attention_mask"]
    assert ids.shape == (2, 6) and data["segments"].abs().sum() == 0
    full = tokenizer.encode("the cat sat on the mat", add_specials=False)
    assert ids[0].tolist() == [tokenizer.cls_id, *full[:4], tokenizer.sep_id]
    n = len(tokenizer.encode("a dog"))
    assert mask[1].tolist() == [1] * n + [0] * (6 - n)
    assert (ids[1, n:] == tokenizer.pad_id).all()


def test_pairs_get_segments_and_fit_the_budget(tokenizer):
    a, b = "stocks fell as the bank raised rates", "a dog"
    n_b = len(tokenizer.encode(b, add_specials=False))
    max_len = 3 + 2 * n_b  # room for all of b and as many tokens of the (longer) a
    data = encode_texts(tokenizer, [a], max_len=max_len, texts_b=[b])
    ids, segments = data["ids"][0].tolist(), data["segments"][0].tolist()
    assert len(ids) == max_len
    seps = [i for i, t in enumerate(ids) if t == tokenizer.sep_id]
    assert ids[0] == tokenizer.cls_id and seps == [n_b + 1, max_len - 1]
    assert segments == [0] * (seps[0] + 1) + [1] * (max_len - 1 - seps[0])
    # the longer text lost tokens from its end; the short one is whole
    assert ids[1:seps[0]] == tokenizer.encode(a, add_specials=False)[:seps[0] - 1]
    assert ids[seps[0] + 1:seps[1]] == tokenizer.encode(b, add_specials=False)


def test_bad_inputs_are_clear_errors(tokenizer):
    with pytest.raises(ValueError, match="second texts"):
        encode_texts(tokenizer, ["a", "b"], 8, texts_b=["c"])
    with pytest.raises(ValueError, match="no room"):
        encode_texts(tokenizer, ["a"], 3)


def _toy_task(n=64, T=8, seed=0):
    """Label 1 iff token 5 occurs: a task a tiny BERT learns in a few dozen updates."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(6, 20, (n, T), generator=g)
    labels = torch.arange(n) % 2
    ids[labels == 1, torch.randint(1, T, (int(labels.sum()),), generator=g)] = 5
    ids[:, 0] = 1
    return {"ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}


def test_fine_tune_learns_a_simple_task_and_freezing_keeps_embeddings():
    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(20, max_len=8, d_model=32, n_layers=1, n_heads=2), 2)
    train, test = _toy_task(), _toy_task(seed=1)
    before = model.bert.transformer.tok.weight.detach().clone()
    history = fine_tune(model, train, sequence_classification_loss, epochs=1, min_steps=120, batch_size=16,
                        lr=3e-3, freeze_embeddings=True)
    assert history.train[-1]["step"] == 120
    assert torch.equal(model.bert.transformer.tok.weight, before)
    assert model.bert.transformer.tok.weight.requires_grad  # unfrozen again afterwards
    assert classification_accuracy(model, test) >= 0.9
    logits = torch.cat(predict(model, test, batch_size=10))
    assert logits.shape == (64, 2)
    with pytest.raises(ValueError, match="labels"):
        classification_accuracy(model, {"ids": test["ids"]})


def test_predict_keeps_the_full_width_so_token_outputs_concatenate():
    from ptm_lib.models.bert import BertForTokenClassification
    torch.manual_seed(0)
    model = BertForTokenClassification(BertConfig(20, max_len=8, d_model=16, n_layers=1, n_heads=2), 3)
    mask = torch.tensor([[1] * 8] + [[1, 1, 0, 0, 0, 0, 0, 0]] * 3)  # the second batch is mostly padding
    data = {"ids": torch.randint(0, 20, (4, 8)), "attention_mask": mask}
    logits = torch.cat(predict(model, data, batch_size=2))
    assert logits.shape == (4, 8, 3)
    with torch.no_grad():
        torch.testing.assert_close(logits[2:], model.eval()(data["ids"][2:], attention_mask=mask[2:]))


def test_head_lr_trains_the_new_layer_at_its_own_rate():
    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(20, max_len=8, d_model=16, n_layers=1, n_heads=2), 2)
    body = {k: v.clone() for k, v in model.bert.state_dict().items()}
    head = model.classifier.weight.detach().clone()
    fine_tune(model, _toy_task(n=16), sequence_classification_loss, epochs=1, batch_size=8, lr=0.0, head_lr=1e-2)
    assert all(torch.equal(model.bert.state_dict()[k], v) for k, v in body.items())  # lr 0: the encoder is untouched
    assert not torch.equal(model.classifier.weight, head)


def test_a_bilstm_top_is_new_and_learns_at_the_head_rate():
    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(20, max_len=8, d_model=16, n_layers=1, n_heads=2), 2,
                                          bilstm_top=True)
    body = {k: v.clone() for k, v in model.bert.state_dict().items()}
    top = {k: v.clone() for k, v in model.top.state_dict().items()}
    fine_tune(model, _toy_task(n=16), sequence_classification_loss, epochs=1, batch_size=8, lr=0.0, head_lr=1e-2)
    assert all(torch.equal(model.bert.state_dict()[k], v) for k, v in body.items())
    assert all(not torch.equal(model.top.state_dict()[k], v) for k, v in top.items())
