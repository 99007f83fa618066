"""Chapter 7's pretraining objective (ptm_lib.pretrain.bert): batches, training, metrics, checkpoint."""

import math

import pytest
import torch

from ptm_lib.checkpoints import load, save
from ptm_lib.data.wordpiece import WordPieceTokenizer, train_wordpiece
from ptm_lib.models.bert import IGNORE, BertConfig, BertForPretraining
from ptm_lib.pretrain.bert import (
    MaskedRows,
    NextTokenRows,
    PretrainingBatches,
    encode_documents,
    fixed_masked_rows,
    masked_lm_metrics,
    next_token_metrics,
    pretraining_metrics,
    sentence_documents,
    token_rows,
    train,
)

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


# --- the masked LM alone, on rows of running text (--objective mlm) ---


def test_token_rows_run_the_documents_together_between_cls_and_sep(tokenizer):
    docs = encode_documents(tokenizer, DOCS)
    rows = token_rows(docs, tokenizer, max_len=8)
    stream = [i for doc in docs for sentence in doc for i in sentence]
    assert rows.shape == (len(stream) // 6, 8) and rows.dtype == torch.long
    assert (rows[:, 0] == tokenizer.cls_id).all() and (rows[:, -1] == tokenizer.sep_id).all()
    assert rows[:, 1:-1].reshape(-1).tolist() == stream[:rows.shape[0] * 6]
    with pytest.raises(ValueError, match="no room for a token between"):
        token_rows(docs, tokenizer, max_len=2)
    with pytest.raises(ValueError, match="fewer than one row"):
        token_rows([[[5, 6]]], tokenizer, max_len=8)


def test_masked_rows_mask_the_asked_share_anew_in_every_pass(tokenizer):
    rows = token_rows(encode_documents(tokenizer, DOCS), tokenizer, max_len=12)
    data = MaskedRows(rows, tokenizer, batch_size=4, mask_rate=0.4, seed=0)
    first, second = list(data), list(data)
    assert len(first) == len(data) == -(-len(rows) // 4)
    batch = first[0]
    assert set(batch) == {"ids", "attention_mask", "labels"} and batch["ids"].shape == (4, 12)
    predicted = (torch.cat([b["labels"] for b in first]) != IGNORE).float().mean().item()
    assert abs(predicted - 0.4 * 10 / 12) < 0.03  # 40% of the 10 non-special tokens of each row
    assert not torch.equal(first[0]["labels"], second[0]["labels"])  # reshuffled and masked again
    fixed = fixed_masked_rows(rows, tokenizer, n_rows=10, batch_size=4)
    assert [len(b["ids"]) for b in fixed] == [4, 4, 2]
    rate = (torch.cat([b["labels"] for b in fixed]) != IGNORE).float().mean().item()
    assert abs(rate - 0.15 * 10 / 12) < 0.05  # evaluation masks at BERT's 15% whatever training uses


def test_mask_accuracy_counts_only_the_positions_shown_as_mask(tokenizer):
    """A model can copy a visible token; at [MASK] it must predict. The metric separates the two."""
    torch.manual_seed(0)
    model = BertForPretraining(BertConfig(tokenizer.vocab_size, max_len=12, d_model=16, n_layers=1, n_heads=2))
    ids = torch.tensor([[tokenizer.cls_id, 7, 8, 9, tokenizer.sep_id]])
    labels = torch.full_like(ids, IGNORE)
    labels[0, 1], labels[0, 2] = 7, 8
    inputs = ids.clone()
    inputs[0, 1] = tokenizer.mask_id  # position 1 is shown as [MASK]; position 2 is left unchanged
    batch = {"ids": inputs, "attention_mask": torch.ones_like(ids), "labels": labels}
    with torch.no_grad():
        hidden = model.bert(inputs).hidden
        guesses = model.mlm(hidden[0, 1:3]).argmax(-1).tolist()
    metrics = masked_lm_metrics(model, [batch], tokenizer.mask_id)
    assert metrics["mask_accuracy"] == float(guesses[0] == 7)
    assert metrics["mlm_accuracy"] == (float(guesses[0] == 7) + float(guesses[1] == 8)) / 2
    batch["ids"] = ids  # nothing shown as [MASK]
    with pytest.raises(ValueError, match="no position is shown as \\[MASK\\]"):
        masked_lm_metrics(model, [batch], tokenizer.mask_id)


@pytest.mark.parametrize("norm", ["post", "pre"])
def test_the_masked_lm_alone_learns(tokenizer, norm):
    config = BertConfig(tokenizer.vocab_size, max_len=12, d_model=32, n_layers=1, n_heads=2, norm=norm)
    model, history = train(config, tokenizer, steps=300, batch_size=8, lr=3e-3, device="cpu", eval_every=150,
                           documents=DOCS, held_out=DOCS[:3], objective="mlm", mask_rate=0.3, warmup=0.1)
    assert set(history.val[-1]) == {"step", "mlm_loss", "mlm_accuracy", "mask_accuracy"}
    assert history.val[-1]["mlm_loss"] < math.log(tokenizer.vocab_size) - 1.0
    assert model.config.norm == norm
    with pytest.raises(ValueError, match="objective='nsp'; use one of"):
        train(config, tokenizer, steps=1, documents=DOCS, held_out=DOCS[:3], objective="nsp")
    with pytest.raises(ValueError, match="mask_rate is the share of tokens predicted"):
        train(config, tokenizer, steps=1, documents=DOCS, held_out=DOCS[:3], objective="mlm", mask_rate=1.0)


def test_a_control_run_can_share_a_checkpoint_s_vocabulary_and_see_only_its_left(monkeypatch):
    """`--tokenizer-from` reuses a checkpoint's WordPiece (learning it again gives another
    vocabulary, and the runs would not compare on the same tokens); `--attention` reaches the model."""
    from ptm_lib import checkpoints
    from ptm_lib.pretrain import bert as pretrain_bert

    seen = {}

    def capture(program, argv, args, vocabulary, train_fn, scores_fn):
        seen["vocabulary"] = vocabulary
        train_fn()

    monkeypatch.setattr(pretrain_bert, "train_and_save", capture)
    monkeypatch.setattr(pretrain_bert, "train", lambda config, *a, **kw: seen.setdefault("config", config))
    monkeypatch.setattr(pretrain_bert.runtime, "set_threads", lambda n: 1)
    path = checkpoints.book_checkpoint("bert_small.pt")
    pretrain_bert.main(["--tokenizer-from", str(path), "--attention", "left-to-right", "--out", "x.pt"])
    assert seen["vocabulary"].vocab == checkpoints.load(path, kind="bert")[1].vocab
    assert seen["config"].attention == "left-to-right" and seen["config"].vocab_size == seen["vocabulary"].vocab_size


def test_sentence_pairs_are_masked_at_the_asked_rate(tokenizer):
    """`--objective mlm+nsp --mask-rate 0.4` must mask 40%, not BERT's 15% (it once ignored the rate)."""
    docs = encode_documents(tokenizer, DOCS)

    def rate(mask_rate):
        batches = list(PretrainingBatches(docs, tokenizer, max_len=16, batch_size=8, seed=0, mask_rate=mask_rate))
        real = sum(b["attention_mask"].sum() for b in batches)
        chosen = sum((b["labels"] != IGNORE).sum() for b in batches)
        specials = sum(3 * len(b["ids"]) for b in batches)  # [CLS] A [SEP] B [SEP]: three never masked
        return (chosen / (real - specials)).item()

    assert abs(rate(0.15) - 0.15) < 0.05 and abs(rate(0.4) - 0.4) < 0.05


# --- a left-to-right LM on the same rows (--objective ltr, chapter 8's ablation) ---


def test_next_token_rows_label_every_position_with_the_token_after_it(tokenizer):
    rows = token_rows(encode_documents(tokenizer, DOCS), tokenizer, max_len=10)
    data = NextTokenRows(rows, tokenizer, batch_size=4, seed=0)
    first, second = list(data), list(data)
    assert len(first) == len(data) == -(-len(rows) // 4)
    batch = first[0]
    assert set(batch) == {"ids", "attention_mask", "labels"}
    assert torch.equal(batch["labels"][:, :-2], batch["ids"][:, 1:-1])  # the next token, input unchanged
    assert (batch["labels"][:, -2:] == IGNORE).all()  # [SEP] is no target, and the last position has none
    assert (batch["ids"] != tokenizer.mask_id).all()  # nothing is masked
    seen = torch.cat([b["ids"] for b in first])
    assert sorted(map(tuple, seen.tolist())) == sorted(map(tuple, rows.tolist()))  # every row once a pass
    assert not torch.equal(first[0]["ids"], second[0]["ids"])  # reshuffled


def test_a_left_to_right_lm_learns_and_refuses_a_model_that_sees_its_answers(tokenizer):
    config = BertConfig(tokenizer.vocab_size, max_len=12, d_model=32, n_layers=1, n_heads=2, norm="pre",
                        attention="left-to-right")
    model, history = train(config, tokenizer, steps=300, batch_size=8, lr=3e-3, device="cpu", eval_every=150,
                           documents=DOCS, held_out=DOCS[:3], objective="ltr", warmup=0.1)
    assert set(history.val[-1]) == {"step", "lm_loss", "lm_accuracy"}
    assert history.val[-1]["lm_loss"] < math.log(tokenizer.vocab_size) - 1.0
    rows = token_rows(encode_documents(tokenizer, DOCS[:3]), tokenizer, max_len=12)
    batch = NextTokenRows(rows, tokenizer, batch_size=64).labelled(rows)
    assert next_token_metrics(model, [batch]) == pytest.approx({k: v for k, v in history.val[-1].items()
                                                                 if k != "step"})
    both_sides = BertConfig(tokenizer.vocab_size, max_len=12, d_model=32, n_layers=1, n_heads=2)
    with pytest.raises(ValueError, match="attention='left-to-right'"):
        train(both_sides, tokenizer, steps=1, documents=DOCS, held_out=DOCS[:3], objective="ltr")
    with pytest.raises(ValueError, match="masks nothing, so mask_rate=0.4 would be ignored"):
        train(config, tokenizer, steps=1, documents=DOCS, held_out=DOCS[:3], objective="ltr", mask_rate=0.4)


def test_the_command_line_refuses_an_ltr_run_that_could_not_be_one(capsys):
    from ptm_lib.pretrain import bert as pretrain_bert

    for argv, message in [(["--objective", "ltr", "--out", "x.pt"], "add --attention left-to-right"),
                          (["--objective", "ltr", "--attention", "left-to-right", "--mask-rate", "0.4",
                            "--out", "x.pt"], "leave out --mask-rate")]:
        with pytest.raises(SystemExit):
            pretrain_bert.main(argv)
        assert message in capsys.readouterr().err
