"""Chapter 8: BERT as frozen features against fine-tuning, on entities (ptm_lib.feature_based)."""

import json

import pytest
import torch

from ptm_lib import checkpoints, feature_based
from ptm_lib.data import ner
from ptm_lib.models.bert import BERT, BertConfig

SENTENCES = [ner.TaggedSentence(("Obama", "visited", "Paris", "today"), ("B-person", "O", "B-geo-loc", "O")),
             ner.TaggedSentence(("hello", "world"), ("O", "O"))]
TAGS = ner.tag_set(["geo-loc", "person"])


@pytest.fixture(scope="module")
def tokenizer():
    return checkpoints.load(checkpoints.book_checkpoint("bert_small.pt"), kind="bert")[1]


def test_first_piece_layers_are_every_layer_at_each_words_first_piece(tokenizer):
    torch.manual_seed(0)
    bert = BERT(BertConfig(tokenizer.vocab_size, max_len=64, d_model=16, n_layers=2, n_heads=2))
    batch = ner.encode_tagged(tokenizer, SENTENCES, {t: i for i, t in enumerate(TAGS)}, 64)
    layers = feature_based.first_piece_layers(bert, batch, batch_size=1)
    assert [tuple(h.shape) for h in layers] == [(3, 4, 16), (3, 2, 16)]
    hidden = bert(batch["ids"][:1], attention_mask=batch["attention_mask"][:1]).hidden_states
    first = (batch["word_index"][0] >= 0).nonzero().squeeze(1)
    assert torch.allclose(layers[0][2], hidden[2][0, first], atol=1e-6)  # the last layer, at the first pieces


def test_each_feature_set_gives_the_tagger_its_layers():
    h = torch.randn(5, 7, 8)  # embeddings and four layers, 7 words, width 8
    shapes = {name: tuple(choose(h).shape) for name, choose in feature_based.FEATURE_SETS.items()}
    assert shapes == {"embeddings": (1, 7, 8), "second-to-last hidden": (1, 7, 8), "last hidden": (1, 7, 8),
                      "weighted sum of all layers": (5, 7, 8), "concat last four hidden": (1, 7, 32)}
    assert torch.equal(feature_based.FEATURE_SETS["concat last four hidden"](h)[0, :, 8:16], h[2])


def test_the_command_writes_a_grid_on_the_entity_family(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(feature_based, "EPOCHS", 1)
    out = tmp_path / "features.json"
    feature_based.main(["--out", str(out), "--features", "last hidden", "--seeds", "2", "--threads", "1"])
    result = feature_based.load_results(out)
    assert result["epochs"] == 1 and result["encoder"] == "MLM (no NSP)"
    assert [(r["features"], r["seed"]) for r in result["runs"]] == [("last hidden", 0), ("last hidden", 1)]
    assert all(0.0 <= r["f1"] <= 1.0 for r in result["runs"])
    assert "last hidden  seed 1  entity F1" in capsys.readouterr().out
    monkeypatch.setattr(feature_based, "EPOCHS", 2)
    with pytest.raises(SystemExit):  # another recipe: the runs would not compare
        feature_based.main(["--out", str(out), "--features", "embeddings", "--seeds", "1"])
    with pytest.raises(ValueError, match="unknown feature sets \\['all twelve'\\]"):
        feature_based.run(["all twelve"], [0])
    broken = json.loads(out.read_text())
    broken["runs"].append(broken["runs"][0])
    out.write_text(json.dumps(broken))
    with pytest.raises(ValueError, match="twice"):
        feature_based.load_results(out)


def test_the_book_grid_has_every_feature_set_with_three_seeds():
    result = feature_based.load_results()
    assert {(r["features"], r["seed"]) for r in result["runs"]} == {
        (name, seed) for name in feature_based.FEATURE_SETS for seed in range(3)}
