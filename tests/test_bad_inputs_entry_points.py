"""Bad command lines of the pretraining entry points (python -m ptm_lib.pretrain gpt|bert|elmo):
every option that cannot work is refused by argparse, naming the option and the fix, before any
corpus is read or any step is trained; a missing, unknown or misplaced objective is named; the
commands stored in the committed checkpoints still run."""

from __future__ import annotations

import re

import pytest
import torch

from ptm_lib import checkpoints, pretrain
from ptm_lib.data.bpe import train_bpe
from ptm_lib.models.gpt import GPT
from ptm_lib.models.transformer import TransformerConfig
from ptm_lib.pretrain import bert as pretrain_bert
from ptm_lib.pretrain import elmo as pretrain_elmo
from ptm_lib.pretrain import gpt as pretrain_gpt

ENTRY_POINTS = sorted(pretrain.OBJECTIVES)


class WorkStarted(Exception):
    """Raised where an entry point starts its first real work (tokenizer or corpus)."""


@pytest.fixture
def no_work(monkeypatch):
    """Make the first piece of real work in each entry point raise ``WorkStarted``."""
    def work(*args, **kwargs):
        raise WorkStarted

    monkeypatch.setattr(pretrain_gpt, "book_tokenizer", work)
    monkeypatch.setattr(pretrain_bert, "book_tokenizer", work)
    monkeypatch.setattr(pretrain_bert, "train", work)  # a run that reuses a checkpoint's tokenizer learns none
    monkeypatch.setattr(pretrain_elmo.text, "pretraining_corpus", work)
    monkeypatch.setattr(pretrain_gpt.runtime, "set_threads", lambda n: 1)  # leave the test session's threads alone


def refused(entry: str | None, argv: list[str], capsys) -> str:
    """Run ``python -m ptm_lib.pretrain [entry] argv``; it must exit with a usage error (code 2):
    return its message."""
    with pytest.raises(SystemExit) as info:
        pretrain.main(([entry] if entry else []) + argv)
    assert info.value.code == 2
    return capsys.readouterr().err


BAD_OPTIONS = [
    ("--steps", "0", r"argument --steps: got 0; give a whole number of at least 1"),
    ("--steps", "-5", r"argument --steps: got -5; give a whole number of at least 1"),
    ("--batch-size", "0", r"argument --batch-size: got 0; give a whole number of at least 1"),
    ("--seq", "1", r"argument --seq: got 1; give a whole number of at least [25]"),  # BERT: 5
    ("--lr", "0", r"argument --lr: got 0; give a finite number above 0"),
    ("--lr", "-0.001", r"argument --lr: got -0.001; give a finite number above 0"),
    ("--lr", "nan", r"argument --lr: got nan; give a finite number above 0"),
    ("--lr", "inf", r"argument --lr: got inf; give a finite number above 0"),
    ("--threads", "0", r"argument --threads: got 0; give a whole number of at least 1"),
    ("--d-model", "0", r"argument --d-model: got 0"),
    ("--layers", "0", r"argument --layers: got 0"),
    ("--steps", "many", r"argument --steps: 'many' is not a whole number"),
]


class TestEntryPoints:
    @pytest.mark.parametrize("entry", ENTRY_POINTS)
    @pytest.mark.parametrize("flag, value, message", BAD_OPTIONS)
    def test_a_shared_option_that_cannot_work_is_refused_before_any_work(self, entry, flag, value, message,
                                                                         no_work, tmp_path, capsys):
        assert message.split(":")[0].replace("argument ", "") == flag
        err = refused(entry, ["--out", str(tmp_path / "x.pt"), flag, value], capsys)
        assert re.search(message, err), err

    @pytest.mark.parametrize("entry", ENTRY_POINTS)
    def test_out_that_is_a_folder_is_refused_before_any_work(self, entry, no_work, tmp_path, capsys):
        err = refused(entry, ["--out", str(tmp_path)], capsys)
        assert "argument --out:" in err and f"is a folder; give a file path in it, e.g. {tmp_path / 'model.pt'}" in err

    def test_out_below_a_file_or_without_pt_is_refused(self, no_work, tmp_path, capsys):
        (tmp_path / "a_file").write_text("x")
        err = refused("gpt", ["--out", str(tmp_path / "a_file" / "x.pt")], capsys)
        assert "argument --out:" in err and "a_file is a file, not a folder; choose another path" in err
        err = refused("gpt", ["--out", str(tmp_path / "gpt.txt")], capsys)
        assert "does not end in .pt; give a checkpoint file name such as" in err and "gpt.pt" in err

    def test_out_in_a_folder_without_write_permission_is_refused(self, no_work, tmp_path, capsys, monkeypatch):
        monkeypatch.setattr(pretrain.os, "access", lambda path, mode: False)  # root may write anywhere
        err = refused("gpt", ["--out", str(tmp_path / "x.pt")], capsys)
        assert "cannot be written (no write permission in" in err and "choose a folder you can write to" in err

    @pytest.mark.parametrize("entry, argv, message", [
        ("gpt", ["--heads", "3"], r"no valid model: d_model=128 is not divisible by n_heads=3"),
        ("gpt", ["--heads", "0"], r"argument --heads: got 0"),
        ("gpt", ["--vocab", "0"], r"argument --vocab: got 0"),
        ("gpt", ["--text", "cased"], r"argument --text: invalid choice: .cased. \(choose from .words., .running.\)"),
        ("bert", ["--heads", "3"], r"no valid model: d_model=128 is not divisible by n_heads=3"),
        ("bert", ["--seq", "4"], r"argument --seq: got 4; give a whole number of at least 5"),
        ("elmo", ["--dropout", "1.5"], r"no valid model: BiLMConfig\.dropout must lie in \[0, 1\), got 1\.5"),
        ("elmo", ["--max-chars", "2"], r"no valid model: max_chars=2 is shorter than the widest filter"),
        ("elmo", ["--lstm-hidden", "64"], r"no valid model: BiLMConfig\.lstm_hidden=64 is smaller than d_model"),
        ("elmo", ["--min-count", "0"], r"argument --min-count: got 0"),
        ("elmo", ["--eval-every", "0"], r"argument --eval-every: got 0"),
        ("bert", ["--mask-rate", "1.5"], r"argument --mask-rate: got 1\.5; give a number strictly between 0 and 1"),
        ("bert", ["--mask-rate", "x"], r"argument --mask-rate: 'x' is not a number"),
        ("bert", ["--warmup", "0"], r"argument --warmup: got 0; give a number strictly between 0 and 1"),
        ("bert", ["--objective", "nsp"], r"argument --objective: invalid choice: 'nsp'"),
        ("bert", ["--norm", "sandwich"], r"argument --norm: invalid choice: 'sandwich'"),
        ("bert", ["--attention", "causal"], r"argument --attention: invalid choice: 'causal'"),
        ("bert", ["--tokenizer-from", "none.pt"], r"argument --tokenizer-from: No checkpoint at none\.pt.*Give a "
                                                  r"BERT checkpoint such as data/checkpoints/bert_small\.pt"),
        ("bert", ["--tokenizer-from", str(checkpoints.book_checkpoint("gpt_small.pt"))],
         r"argument --tokenizer-from: .*holds a model of kind 'gpt', not 'bert'"),
        ("bert", ["--tokenizer-from", str(checkpoints.book_checkpoint("bert_small.pt")), "--vocab", "100"],
         r"--vocab and --tokenizer-from both choose the vocabulary; give one of them"),
    ])
    def test_an_own_option_that_cannot_work_is_refused_before_any_work(self, entry, argv, message, no_work,
                                                                       tmp_path, capsys):
        err = refused(entry, ["--out", str(tmp_path / "x.pt"), *argv], capsys)
        assert re.search(message, err), err

    def test_a_missing_unknown_or_misplaced_objective_is_named(self, capsys):
        assert "the following arguments are required: objective" in refused(None, [], capsys)
        err = refused("gtp", ["--steps", "3"], capsys)
        assert "argument objective: invalid choice: 'gtp' (choose from 'gpt', 'bert', 'elmo')" in err
        err = refused(None, ["--steps", "3", "bert", "--out", "x.pt"], capsys)
        assert "the objective comes first, then its options: python -m ptm_lib.pretrain bert --steps 3 --out x.pt" \
            in err
        assert "python -m ptm_lib.pretrain gpt|bert|elmo --steps 3" in refused(None, ["--steps", "3"], capsys)

    @pytest.mark.parametrize("name", ["gpt_small.pt", "bert_small.pt", "elmo_small.pt", "bert_mlm.pt",
                                      "bert_mlm_left_to_right.pt", "gpt_running_text.pt"])
    def test_the_commands_stored_in_the_committed_checkpoints_still_start(self, name, no_work):
        meta = torch.load(checkpoints.book_checkpoint(name), weights_only=True)["meta"]
        command = meta["command"].split()
        assert command[:4] == ["python", "-m", "ptm_lib.pretrain", name.split("_")[0]]
        with pytest.raises(WorkStarted):
            pretrain.main(command[3:])

    def test_a_save_that_fails_after_training_keeps_the_model(self, tmp_path, monkeypatch):
        tokenizer = train_bpe(["the cat sat on the mat"] * 5, vocab_size=40)
        model = GPT(TransformerConfig(vocab_size=tokenizer.vocab_size, max_len=8, d_model=8, n_layers=1, n_heads=2))
        (tmp_path / "gone").write_text("the folder was replaced by a file during the run")
        monkeypatch.setattr(pretrain.tempfile, "gettempdir", lambda: str(tmp_path))

        def save(out):
            return checkpoints.save(out, model, tokenizer, {"steps": 1})

        with pytest.raises(SystemExit, match=r"could not write .*gone/gpt\.pt.*saved to .*gpt-rescued-.*\.pt instead"):
            pretrain.save_or_rescue(save, tmp_path / "gone" / "gpt.pt")
        (rescued,) = tmp_path.glob("gpt-rescued-*.pt")
        assert checkpoints.load(rescued)[2] == {"steps": 1}
