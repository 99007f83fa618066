"""ptm_lib.checkpoints: one file format for every kind of model, round trips of each kind, the
older layouts that still load, the book's own files and the script that upgraded them.
(Damaged and foreign files: tests/test_bad_inputs_checkpoints.py.)"""

from __future__ import annotations

import fnmatch
import hashlib

import pytest
import tomllib
import torch

from ptm_lib import checkpoints, pretrain
from ptm_lib.checkpoints import KINDS, load, save
from ptm_lib.data.bilm import build_vocab, encode_batch
from ptm_lib.data.bpe import train_bpe
from ptm_lib.data.wordpiece import WordPieceTokenizer, train_wordpiece
from ptm_lib.models.bert import (
    BERT,
    BertConfig,
    BertForPretraining,
    BertForSequenceClassification,
    BertForSpanExtraction,
    BertForTokenClassification,
)
from ptm_lib.models.elmo import BiLM, BiLMConfig
from ptm_lib.models.gpt import GPT
from ptm_lib.models.transformer import TransformerConfig
from scripts import upgrade_checkpoints

TEXTS = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog"] * 5
SENTENCES = [s.split() for s in TEXTS[:3]]
COMMITTED = checkpoints.book_checkpoint_folders()[0]


@pytest.fixture(scope="module")
def bpe():
    return train_bpe(TEXTS, vocab_size=60)


@pytest.fixture(scope="module")
def wordpiece() -> WordPieceTokenizer:
    return train_wordpiece(TEXTS, vocab_size=60)


def tiny_gpt(tokenizer) -> GPT:
    torch.manual_seed(0)
    return GPT(TransformerConfig(vocab_size=tokenizer.vocab_size, max_len=8, d_model=16, n_layers=1, n_heads=2))


def bert_config(tokenizer, **kw) -> BertConfig:
    return BertConfig(tokenizer.vocab_size, max_len=12, d_model=16, n_layers=2, n_heads=4, **kw)


def perturbed(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` with every weight moved off its initial value, in eval mode."""
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return model.eval()


def test_a_gpt_round_trips_with_its_tokenizer_and_record(tmp_path, bpe):
    model = tiny_gpt(bpe)
    path = save(tmp_path / "ckpt" / "gpt.pt", model, bpe, {"steps": 3, "torch": torch.__version__})
    loaded, tok, record = load(path)
    assert record == {"steps": 3, "torch": str(torch.__version__)} and not loaded.training
    assert tok.encode("the cat") == bpe.encode("the cat")
    assert loaded.lm_head.weight is loaded.transformer.tok.weight  # still tied after loading
    assert "lm_head.weight" not in torch.load(path, weights_only=True)["weights"]  # stored once
    ids = torch.tensor([bpe.encode("the dog sat on the mat")])
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids), model.eval()(ids), atol=2e-2, rtol=0)  # fp16 storage
    for name, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], value.half().float())


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
def test_an_elmo_bilm_round_trips_with_its_word_vocabulary(tmp_path):
    vocab = build_vocab(SENTENCES * 2, min_count=1)
    torch.manual_seed(0)
    model = BiLM(BiLMConfig(vocab_size=len(vocab), d_model=8, lstm_hidden=12, max_chars=10, char_dim=4,
                            filters=((1, 4), (2, 4)))).eval()
    path = save(tmp_path / "elmo.pt", model, vocab, {"steps": 3})
    loaded, loaded_vocab, record = load(path, kind="elmo")
    assert record == {"steps": 3} and not loaded.training and loaded.config == model.config
    assert loaded_vocab.itos == vocab.itos and (loaded_vocab.counts == vocab.counts).all()
    assert loaded_vocab.min_count == 1
    for name, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], value.half().float())
    words, chars = encode_batch(SENTENCES, vocab, model.config.max_chars)
    with torch.no_grad():
        torch.testing.assert_close(loaded(words, chars), model(words, chars), atol=2e-2, rtol=0)


@pytest.mark.parametrize("make", [
    lambda c: BertForPretraining(c),
    lambda c: BertForSequenceClassification(c, num_labels=3, dropout=0.2),
    lambda c: BertForTokenClassification(BERT(c), num_labels=5),
    lambda c: BertForSpanExtraction(BERT(c)),
    lambda c: BertForSequenceClassification(c, num_labels=3, dropout=0.2, bilstm_top=True),
    lambda c: BertForSpanExtraction(BERT(c), bilstm_top=True),
    lambda c: BERT(c),
])
def test_a_bert_or_fine_tuned_head_round_trips(tmp_path, wordpiece, make):
    torch.manual_seed(0)
    model = perturbed(make(bert_config(wordpiece, dropout=0.1)))
    path = save(tmp_path / "model.pt", model, wordpiece)
    again, tok, record = load(path)
    assert type(again) is type(model) and again.config == model.config and not again.training
    assert tok.encode("the cat") == wordpiece.encode("the cat") and record == {}
    ids, segments = (torch.tensor([x]) for x in wordpiece.encode_pair("the cat sat", "on the mat"))
    out_a, out_b = model(ids, segments), again(ids, segments)
    for a, b in zip(out_a if isinstance(out_a, tuple) else [out_a], out_b if isinstance(out_b, tuple) else [out_b]):
        if isinstance(a, torch.Tensor):
            if isinstance(model, BertForPretraining):  # a pretrained model is stored in float16
                torch.testing.assert_close(a, b, atol=5e-2, rtol=0)
            else:  # a fine-tuned one in float32: it predicts exactly as before
                assert torch.equal(a, b)
    if isinstance(again, BertForPretraining):
        assert again.mlm.decoder.weight is again.bert.transformer.tok.weight, "still tied after loading"
    if isinstance(again, BertForSequenceClassification):
        assert again.num_labels == 3 and again.drop.p == 0.2
    assert (getattr(again, "top", None) is None) == (getattr(model, "top", None) is None)


def test_a_fine_tuned_head_may_be_saved_without_its_tokenizer_a_pretrained_model_not(tmp_path, wordpiece):
    head = BertForSequenceClassification(bert_config(wordpiece), num_labels=2)
    model, tokenizer, record = load(save(tmp_path / "head.pt", head, record={"task": "topics"}),
                                    kind="bert-sequence-classifier")
    assert isinstance(model, BertForSequenceClassification) and tokenizer is None and record == {"task": "topics"}
    with pytest.raises(TypeError, match=r"save needs the bert model's tokenizer, a WordPieceTokenizer, got NoneType"):
        save(tmp_path / "bert.pt", BertForPretraining(bert_config(wordpiece)))


def test_a_file_of_the_older_fine_tuned_bert_layout_still_loads(tmp_path, wordpiece):
    """What ptm_lib.models.bert.save_model wrote: class name, config, head arguments, float32 state dict."""
    import dataclasses

    torch.manual_seed(0)
    head = perturbed(BertForTokenClassification(bert_config(wordpiece), num_labels=4, dropout=0.3))
    torch.save({"format": "ptm-lib bert 1", "class": "BertForTokenClassification",
                "config": dataclasses.asdict(head.config), "extra_args": head.extra_args(),
                "state_dict": {k: v.detach().clone() for k, v in head.state_dict().items()}}, tmp_path / "old.pt")
    with pytest.warns(UserWarning, match=r"old\.pt holds no checksum.*ptm_lib\.checkpoints\.save"):
        loaded, tokenizer, record = load(tmp_path / "old.pt")
    assert type(loaded) is BertForTokenClassification and loaded.num_labels == 4 and loaded.drop.p == 0.3
    assert tokenizer is None and record == {}
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in head.state_dict().items())


def test_every_kind_is_one_class_and_every_pretrained_kind_has_its_objective():
    classes = [k.model for k in KINDS.values()]
    assert len(set(classes)) == len(classes)
    assert {k.objective for k in KINDS.values() if k.objective} == set(pretrain.OBJECTIVES)
    assert all(KINDS[k.objective] is k for k in KINDS.values() if k.objective)
    assert all(hasattr(checkpoints, name) for name in checkpoints.__all__)


def test_the_book_checkpoints_are_found_in_the_repository_and_where_pip_installs_them(tmp_path, monkeypatch):
    assert checkpoints.book_checkpoint("gpt_small.pt") == COMMITTED / "gpt_small.pt"
    installed = tmp_path / "share" / "ptm-lib" / "checkpoints"
    installed.mkdir(parents=True)
    (installed / "only_installed.pt").write_bytes(b"x")
    monkeypatch.setattr(checkpoints.sys, "prefix", str(tmp_path))
    assert checkpoints.book_checkpoint("only_installed.pt") == installed / "only_installed.pt"
    with pytest.raises(FileNotFoundError, match=r"Reinstall the package, or make it with: python -m "
                                                r"ptm_lib\.pretrain bert --out data/checkpoints/bert_large\.pt"):
        checkpoints.book_checkpoint("bert_large.pt")
    with pytest.raises(FileNotFoundError, match=r"python -m ptm_lib\.pretrain gpt\|bert\|elmo --out"):
        checkpoints.book_checkpoint("missing.pt")


def test_every_checkpoint_is_shipped_with_the_package():
    """pyproject's data-files must cover each file in data/checkpoints, or a pip install lacks it."""
    root = COMMITTED.parent.parent
    patterns = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    shipped = patterns["share/ptm-lib/checkpoints"]
    for file in (root / "data" / "checkpoints").iterdir():
        assert any(fnmatch.fnmatch(f"data/checkpoints/{file.name}", p) for p in shipped), file


@pytest.mark.parametrize("name, kind", [("gpt_small.pt", "gpt"), ("bert_small.pt", "bert"),
                                        ("elmo_small.pt", "elmo"), ("bert_mlm.pt", "bert"),
                                        ("bert_mlm_left_to_right.pt", "bert"), ("gpt_running_text.pt", "gpt"),
                                        ("bert_mlm_nsp.pt", "bert"), ("bert_ltr.pt", "bert")])
def test_the_committed_checkpoints_carry_a_checksum_and_todays_command(name, kind):
    stored = torch.load(COMMITTED / name, weights_only=True)
    assert stored["kind"] == kind and stored[checkpoints.CHECKSUM] == checkpoints.content_sha256(stored)
    meta = stored["meta"]
    assert meta["command"].startswith(f"python -m ptm_lib.pretrain {kind} ") and " --steps " in meta["command"]
    if "command_as_run" in meta:  # made by an entry point since renamed: the same options
        assert meta["command_as_run"].split()[3:] == meta["command"].split()[4:]


def old_file(path, wordpiece, command: str) -> bytes:
    """Write a BERT checkpoint at ``path`` as ptm_lib saved them before they had a checksum."""
    torch.manual_seed(0)
    data = torch.load(save(path, perturbed(BertForPretraining(bert_config(wordpiece))), wordpiece,
                           {"command": command, "steps": 3}), weights_only=True)
    del data[checkpoints.CHECKSUM]
    torch.save(data, path)
    return path.read_bytes()


def test_the_upgrade_script_renames_the_command_adds_a_checksum_and_keeps_every_tensor(tmp_path, wordpiece,
                                                                                     monkeypatch):
    path = tmp_path / "bert_small.pt"
    original = old_file(path, wordpiece, "python -m ptm_lib.pretrain_bert --steps 3 --out x.pt")
    monkeypatch.setitem(upgrade_checkpoints.COMMITTED_SHA256, path.name, hashlib.sha256(original).hexdigest())
    before = torch.load(path, weights_only=True)
    assert upgrade_checkpoints.upgrade(path)
    after = torch.load(path, weights_only=True)
    assert after["meta"] == {"command": "python -m ptm_lib.pretrain bert --steps 3 --out x.pt",
                             "command_as_run": "python -m ptm_lib.pretrain_bert --steps 3 --out x.pt", "steps": 3}
    assert all(torch.equal(after["weights"][k], v) for k, v in before["weights"].items())
    assert after["tokenizer"] == before["tokenizer"] and after["config"] == before["config"]
    load(path)  # verified: no warning, no error
    upgraded = path.read_bytes()
    assert not upgrade_checkpoints.upgrade(path) and path.read_bytes() == upgraded  # a second run changes nothing


def test_the_upgrade_script_refuses_a_file_that_is_not_the_committed_one(tmp_path, wordpiece, monkeypatch):
    path = tmp_path / "bert_small.pt"
    original = old_file(path, wordpiece, "python -m ptm_lib.pretrain_bert --steps 3")
    monkeypatch.setitem(upgrade_checkpoints.COMMITTED_SHA256, path.name, "0" * 64)
    with pytest.raises(SystemExit, match=r"is not the committed file.*restore it from git"):
        upgrade_checkpoints.upgrade(path)
    assert path.read_bytes() == original
