"""Chapter 7's pretraining objective (ptm_lib.pretrain.bert): batches, training, metrics, checkpoint."""

import math

import pytest
import torch

from ptm_lib.checkpoints import load, save
from ptm_lib.data.wordpiece import WordPieceTokenizer, train_wordpiece
from ptm_lib.models.bert import IGNORE, BertConfig, BertForPretraining
from ptm_lib.pretrain.bert import PretrainingBatches, encode_documents, pretraining_metrics, sentence_documents, train

DOCS = [["the cat sat on the mat", "it was warm", "the dog slept"],
        ["stocks fell on monday", "the bank raised rates", "traders were surprised", "bonds rose"],
        ["the team won the cup", "fans sang all night"]] * 3


@pytest.fixture(scope="module")
def tokenizer():
    return train_wordpiece([" ".join(d) for d in DOCS], vocab_size=90)


def test_batches_draw_new_pairs_each_pass_and_new_masks_each_batch(tokenizer):
    docs = encode_documents(tokenizer, DOCS)
    assert [len(d) for d in docs] == [len(d) for d in DOCS]
    assert docs[0][1] == tokenizer.encode("it was warm", add_specials=False)
    data = PretrainingBatches(docs, tokenizer, max_len=16, batch_size=4, seed=0)
    first, second = list(data), list(data)
    assert len(first) == len(data)
    batch = first[0]
    assert set(batch) == {"ids", "labels", "segments", "attention_mask", "is_next"}
    assert batch["ids"].shape[1] <= 16 and (batch["labels"] != IGNORE).any()
    assert not all(torch.equal(a["labels"], b["labels"]) for a, b in zip(first, second) if a["labels"].shape ==
                   b["labels"].shape)


def test_bert_pretraining_learns_and_its_checkpoint_round_trips(tmp_path, tokenizer):
    config = BertConfig(tokenizer.vocab_size, max_len=16, d_model=32, n_layers=1, n_heads=2)
    model, history = train(config, tokenizer, steps=400, batch_size=8, lr=3e-3, device="cpu",
                                   eval_every=200, documents=DOCS, held_out=DOCS[:3])
    # far below a uniform guess; 400 steps, because the WordPiece vocabulary (and so the loss) varies a
    # little between processes and 150 steps left too thin a margin (3.51 against 3.50 in one CI run)
    assert history.val[-1]["mlm_loss"] < math.log(tokenizer.vocab_size) - 1.0
    assert {"mlm_loss", "mlm_accuracy", "nsp_loss", "nsp_accuracy"} <= set(history.val[-1])
    path = save(tmp_path / "bert.pt", model, tokenizer, {"steps": 400})
    loaded, tok, meta = load(path, kind="bert")
    assert isinstance(loaded, BertForPretraining) and isinstance(tok, WordPieceTokenizer) and meta == {"steps": 400}
    assert loaded.mlm.decoder.weight is loaded.bert.transformer.tok.weight  # tied again after loading
    assert "mlm.decoder.weight" not in torch.load(path, weights_only=True)["weights"]  # stored once
    ids, segments = tok.encode_pair("the cat sat", "it was warm")
    ids, segments = torch.tensor([ids]), torch.tensor([segments])
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids, segments)[0], model.eval()(ids, segments)[0], atol=3e-2, rtol=0)
    with pytest.raises(ValueError, match="holds a model of kind 'bert', not 'gpt'"):
        load(path, kind="gpt")


def test_metrics_and_config_mismatch(tokenizer):
    config = BertConfig(tokenizer.vocab_size + 1, max_len=16, d_model=16, n_layers=1, n_heads=2)
    with pytest.raises(ValueError, match="build the config from the tokenizer"):
        train(config, tokenizer, steps=1, documents=DOCS, held_out=DOCS)
    torch.manual_seed(0)
    model = BertForPretraining(BertConfig(tokenizer.vocab_size, max_len=16, d_model=16, n_layers=1, n_heads=2))
    data = PretrainingBatches(encode_documents(tokenizer, DOCS), tokenizer, 16, 8)
    metrics = pretraining_metrics(model, list(data))
    assert 0 <= metrics["mlm_accuracy"] <= 0.2 and 0.2 <= metrics["nsp_accuracy"] <= 0.8
    assert metrics["mlm_loss"] == pytest.approx(torch.log(torch.tensor(float(tokenizer.vocab_size))).item(), rel=0.15)
    assert metrics["nsp_loss"] == pytest.approx(math.log(2), rel=0.1)  # an untrained two-way guess


def test_raw_documents_become_documents_of_normalised_sentences():
    raw = ["Headline here\n\nThe cat sat. It was warm!", "", "Dr. Smith left. Then rain."]
    assert sentence_documents(raw) == [["headline here", "the cat sat", "it was warm"],
                                       ["dr smith left", "then rain"]]
