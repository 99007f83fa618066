"""Chapter 8's ablation: the four task families (ptm_lib.finetune.families) and the grid
that fine-tunes every pretraining objective on them (ptm_lib.ablation)."""

import json

import pytest
import torch

from ptm_lib import ablation, checkpoints
from ptm_lib.data.wordpiece import train_wordpiece
from ptm_lib.finetune import families as task_families
from ptm_lib.models.bert import (
    BertConfig,
    BertForPretraining,
    BertForSequenceClassification,
    BertForSpanExtraction,
    BertForTokenClassification,
    sequence_classification_loss,
)

TINY = {"topic_per_class": 2, "topic_test_per_class": 3, "topic_len": 24, "pair_train": 6, "pair_test": 4,
        "pair_len": 32, "entities_train": 6, "entities_len": 64, "spans_train": 6, "spans_len": 64}


@pytest.fixture(scope="module")
def book_tokenizer():
    return checkpoints.load(checkpoints.book_checkpoint("bert_small.pt"), kind="bert")[1]


@pytest.fixture(scope="module")
def tiny_families():
    return task_families.families(TINY)


def test_the_four_families_encode_for_their_heads(tiny_families, book_tokenizer):
    assert list(tiny_families) == list(task_families.FAMILIES)
    topic, pair, entities, spans = tiny_families.values()
    assert len(topic.train) == 10 and sorted(y for _, y in topic.test) == [c for c in range(5) for _ in range(3)]
    assert len(pair.train) == 6 and len(pair.test) == 4 and {p.label for p in pair.train} == {0, 1}
    assert len(entities.train) == 6 and len(entities.test) > 100  # every held-out tweet
    assert len(spans.train) == 6 and len(spans.test) > 100  # every held-out question
    config = BertConfig(book_tokenizer.vocab_size, max_len=64, d_model=16, n_layers=1, n_heads=2)
    heads = {"topic": BertForSequenceClassification, "pair": BertForSequenceClassification,
             "entities": BertForTokenClassification, "spans": BertForSpanExtraction}
    for family in tiny_families.values():
        data = family.data(book_tokenizer)
        assert data["ids"].shape[1] <= TINY[f"{family.name}_len"]
        model = family.model(config)
        assert type(model) is heads[family.name] and model.top is None and family.model(config, True).top is not None
        assert torch.isfinite(family.loss(model, data))
        assert 0.0 <= family.score(model.eval(), book_tokenizer) <= 1.0
    assert pair.data(book_tokenizer)["segments"].max() == 1  # the two verses are segments A and B
    assert (topic.chance, pair.chance, entities.chance, spans.chance) == (0.2, 0.5, 0.0, 0.0)


def test_families_refuse_unknown_sizes_and_names():
    with pytest.raises(ValueError, match="unknown sizes \\['topic_train'\\]"):
        task_families.families({"topic_train": 5})
    with pytest.raises(ValueError, match="unknown task families \\['nli'\\]"):
        task_families.families(TINY, names=["nli"])


# --- the grid, on a tiny checkpoint and a toy family ---


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    texts = ["the cat sat on the mat", "stocks fell on monday", "the team won the cup"] * 4
    tokenizer = train_wordpiece(texts, vocab_size=60)
    torch.manual_seed(0)
    config = BertConfig(tokenizer.vocab_size, max_len=16, d_model=16, n_layers=1, n_heads=2, norm="pre",
                        attention="left-to-right")
    path = tmp_path_factory.mktemp("ckpt") / "bert_tiny_ltr.pt"
    checkpoints.save(path, BertForPretraining(config), tokenizer, {"command": "made in a test", "tokens_seen": 123,
                                                                     "train_loss": [[1, 2.0]]})
    return path, tokenizer


def toy_family(tokenizer, n=24):
    """Label = does the text mention a cat: learnable from one word."""
    texts = [("the cat sat on the mat" if i % 2 else "stocks fell on monday") for i in range(n)]
    labels = [i % 2 for i in range(n)]

    def encode(tok, examples):
        from ptm_lib.finetune.bert import encode_texts
        return {**encode_texts(tok, [t for t, _ in examples], 16), "labels": torch.tensor([y for _, y in examples])}

    from ptm_lib.finetune.bert import classification_accuracy
    return task_families.TaskFamily("toy", "accuracy", 0.5, list(zip(texts, labels)), list(zip(texts, labels)),
                                    encode, lambda enc, top: BertForSequenceClassification(enc, 2, bilstm_top=top),
                                    sequence_classification_loss,
                                    lambda model, tok, ex: classification_accuracy(model, encode(tok, ex)))


def test_encoders_load_the_checkpoint_or_fresh_weights_of_its_shape(tiny_checkpoint):
    path, tokenizer = tiny_checkpoint
    trained, tok, record = ablation.load_encoder(ablation.Encoder(str(path)))
    fresh, _, nothing = ablation.load_encoder(ablation.Encoder(str(path), random=True), seed=1)
    assert tok.vocab == tokenizer.vocab and record["tokens_seen"] == 123 and nothing == {}
    assert fresh.config == trained.config
    assert not torch.equal(fresh.transformer.tok.weight, trained.transformer.tok.weight)
    again, _, _ = ablation.load_encoder(ablation.Encoder(str(path), random=True), seed=1)
    assert torch.equal(again.transformer.tok.weight, fresh.transformer.tok.weight)  # the seed draws them
    assert ablation.pretraining_summary(record) == {"command": "made in a test", "tokens_seen": 123}
    assert list(ablation.ENCODERS) == ["MLM + NSP", "MLM (no NSP)", "LTR (no NSP)", "LTR + BiLSTM", "random init"]
    assert ablation.ENCODERS["LTR + BiLSTM"].bilstm_top and not ablation.ENCODERS["LTR (no NSP)"].bilstm_top


def test_the_grid_fine_tunes_every_encoder_family_and_seed(tiny_checkpoint):
    path, tokenizer = tiny_checkpoint
    encoders = {"ltr": ablation.Encoder(str(path)), "ltr + bilstm": ablation.Encoder(str(path), bilstm_top=True)}
    seen = []
    recipe = {**ablation.RECIPE, "epochs": 30, "lr": 3e-3}
    rows = ablation.run(encoders, {"toy": toy_family(tokenizer)}, seeds=[0, 1], recipe=recipe, done=seen.append)
    assert seen == rows and [(r["encoder"], r["seed"]) for r in rows] == [
        ("ltr", 0), ("ltr", 1), ("ltr + bilstm", 0), ("ltr + bilstm", 1)]
    assert all(r["family"] == "toy" and r["metric"] == "accuracy" and r["seconds"] >= 0 for r in rows)
    assert all(r["score"] == 1.0 for r in rows), [r["score"] for r in rows]  # one word decides: every run learns it
    again = ablation.run(encoders, {"toy": toy_family(tokenizer)}, seeds=[1], recipe=recipe)
    assert again[0]["score"] == rows[1]["score"]
    with pytest.raises(ValueError, match="at least one encoder"):
        ablation.run(encoders, {"toy": toy_family(tokenizer)}, seeds=[])


def test_the_command_writes_runs_with_their_record(tiny_checkpoint, tmp_path, monkeypatch, capsys):
    path, tokenizer = tiny_checkpoint
    monkeypatch.setattr(ablation, "ENCODERS", {"tiny": ablation.Encoder(str(path)),
                                               "tiny random": ablation.Encoder(str(path), random=True)})
    monkeypatch.setattr(task_families, "families", lambda names: {"toy": toy_family(tokenizer)})
    monkeypatch.setattr(ablation.runtime, "set_threads", lambda n: 1)
    out = tmp_path / "grid.json"
    ablation.main(["--seeds", "2", "--encoders", "tiny", "--out", str(out)])
    first = json.loads(out.read_text())
    assert first["encoders"]["tiny"]["fine_tuning"]["command"] == (
        f"python -m ptm_lib.ablation --seeds 2 --encoders tiny --out {out}")
    assert {"cpu", "threads", "torch", "seconds"} <= set(first["encoders"]["tiny"]["fine_tuning"])
    assert first["sizes"] == task_families.SIZES and first["recipe"] == ablation.RECIPE
    assert first["encoders"]["tiny"]["pretraining"] == {"command": "made in a test", "tokens_seen": 123}
    assert [r["encoder"] for r in first["runs"]] == ["tiny", "tiny"]
    # a second process adds its encoder to the same file; running one again replaces its rows
    ablation.main(["--seeds", "2", "--encoders", "tiny random", "--out", str(out)])
    assert json.loads(out.read_text())["encoders"]["tiny random"]["fine_tuning"]["command"] == (
        f"python -m ptm_lib.ablation --seeds 2 --encoders 'tiny random' --out {out}")  # a name with a space, quoted
    ablation.main(["--seeds", "1", "--encoders", "tiny", "--out", str(out)])
    result = json.loads(out.read_text())
    assert result["encoders"]["tiny random"]["pretraining"] == {}
    assert [(r["encoder"], r["seed"]) for r in result["runs"]] == [("tiny random", 0), ("tiny random", 1),
                                                                    ("tiny", 0)]
    assert "tiny random" in capsys.readouterr().out
    assert ablation.load_results(out) == result
    broken = {**result, "runs": result["runs"] + result["runs"][:1]}
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    with pytest.raises(ValueError, match="not a complete grid"):
        ablation.load_results(tmp_path / "broken.json")
    other = json.loads(out.read_text())
    other["recipe"] = {**other["recipe"], "epochs": 1}
    (tmp_path / "other.json").write_text(json.dumps(other))
    for argv, message in [(["--seeds", "0", "--out", "x.json"], "--seeds 0: give 1 or more"),
                          (["--out", str(tmp_path)], "is a folder"),
                          (["--out", str(tmp_path / "other.json")], "another recipe, so its runs would not compare")]:
        with pytest.raises(SystemExit):
            ablation.main(argv)
        assert message in capsys.readouterr().err


def test_a_missing_grid_names_the_command_that_makes_it(monkeypatch):
    monkeypatch.setattr(ablation, "RESULTS", "no_such_grid.json")
    with pytest.raises(FileNotFoundError, match="python -m ptm_lib.ablation --seeds 3 --threads 1 --out "
                                                "data/results/no_such_grid.json"):
        ablation.results_path()
