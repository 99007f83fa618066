"""Bad inputs to the checkpoint loader and saver (ptm_lib.checkpoints) and the Hugging Face format
loaders (ptm_lib.pretrained): a damaged or foreign file is refused with an error that names it and
the fix; the committed checkpoints load as before, silently. Damage is made on copies in
tmp_path, never on data/checkpoints."""

from __future__ import annotations

import json
import re
import shutil
import struct
import warnings
import zipfile
from pathlib import Path

import pytest
import torch

from ptm_lib import checkpoints, pretrained
from ptm_lib.checkpoints import CheckpointError, load, save
from ptm_lib.data.bilm import build_vocab
from ptm_lib.data.bpe import train_bpe
from ptm_lib.data.vocab import Vocab
from ptm_lib.models import elmo
from ptm_lib.models.bert import BERT, BertConfig
from ptm_lib.models.gpt import GPT
from ptm_lib.models.transformer import TransformerConfig

COMMITTED = checkpoints.book_checkpoint_folders()[0]
COMMANDS = {"gpt_small.pt": "python -m ptm_lib.pretrain gpt --steps 8000",
            "bert_small.pt": "python -m ptm_lib.pretrain bert --steps 10000",
            "elmo_small.pt": "python -m ptm_lib.pretrain elmo --steps 4000"}


def zero_tensor_bytes(path: Path, n: int = 64) -> None:
    """Overwrite ``n`` bytes in the middle of the largest tensor stored in ``path`` with zeros."""
    with zipfile.ZipFile(path) as archive:
        info = max((i for i in archive.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    raw = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len + info.file_size // 2
    raw[start:start + n] = bytes(n)
    path.write_bytes(bytes(raw))


def changed_tensors(original: Path, damaged: Path) -> int:
    """How many stored tensors differ between two checkpoint files (read without any check)."""
    a, b = (torch.load(p, weights_only=True)["weights"] for p in (original, damaged))
    return sum(not torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def tiny():
    tokenizer = train_bpe(["the cat sat on the mat", "a dog and a log"] * 5, vocab_size=40)
    torch.manual_seed(0)
    model = GPT(TransformerConfig(vocab_size=tokenizer.vocab_size, max_len=8, d_model=16, n_layers=1, n_heads=2))
    return model, tokenizer


def tiny_bilm() -> tuple[elmo.BiLM, Vocab]:
    vocab = build_vocab([["the", "cat", "sat"]], min_count=1)
    config = elmo.BiLMConfig(vocab_size=len(vocab), d_model=8, max_chars=6, char_dim=4, filters=((1, 4), (2, 4)))
    return elmo.BiLM(config), vocab


class TestCheckpoints:
    @pytest.mark.parametrize("name", sorted(COMMANDS))
    def test_the_committed_checkpoints_load_silently_with_their_stored_weights(self, name):
        path = COMMITTED / name
        assert checkpoints.CHECKSUM in torch.load(path, weights_only=True)  # verified by load
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model, _, meta = load(path, kind=name.split("_")[0])
        assert meta["command"].startswith(COMMANDS[name])
        stored = torch.load(path, weights_only=True)["weights"]
        state = model.state_dict()
        assert all(torch.equal(state[k], w.float()) for k, w in stored.items())

    @pytest.mark.parametrize("name", sorted(COMMANDS))
    def test_zeroed_bytes_in_a_copy_of_a_committed_checkpoint_are_refused(self, name, tmp_path):
        copy = tmp_path / name
        shutil.copy(COMMITTED / name, copy)
        zero_tensor_bytes(copy)
        assert changed_tensors(COMMITTED / name, copy) >= 1  # the damage is real, and torch.load misses it
        with pytest.raises(CheckpointError, match=rf"{name} is damaged: its contents no longer match the sha256.*"
                                                  rf"restore data/checkpoints/{name} from git.*{COMMANDS[name]}"):
            load(copy)

    def test_a_renamed_intact_copy_of_a_committed_checkpoint_loads_silently(self, tmp_path):
        copy = tmp_path / "my_gpt.pt"
        shutil.copy(COMMITTED / "gpt_small.pt", copy)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            load(copy)

    def test_a_new_checkpoint_carries_a_checksum_that_catches_damage(self, tiny, tmp_path):
        model, tokenizer = tiny
        path = save(tmp_path / "mine.pt", model, tokenizer, {"command": "python -m demo --out mine.pt"})
        stored = torch.load(path, weights_only=True)
        assert stored[checkpoints.CHECKSUM] == checkpoints.content_sha256(stored)
        zero_tensor_bytes(path)
        with pytest.raises(CheckpointError, match=r"mine\.pt is damaged: its contents no longer match the sha256.*"
                                                  r"copy or download it again.*remake it with the command stored in "
                                                  r"it: python -m demo"):
            load(path)

    def test_a_new_elmo_checkpoint_carries_a_checksum_that_catches_damage(self, tmp_path):
        model, vocab = tiny_bilm()
        path = save(tmp_path / "bilm.pt", model, vocab)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            load(path)  # intact: loads silently
        zero_tensor_bytes(path)
        with pytest.raises(CheckpointError, match=r"bilm\.pt is damaged.*remake it with: python -m "
                                                  r"ptm_lib\.pretrain elmo --out " + re.escape(str(path))):
            load(path)

    def test_an_old_checkpoint_without_a_checksum_loads_with_one_warning(self, tiny, tmp_path):
        model, tokenizer = tiny
        path = save(tmp_path / "old.pt", model, tokenizer, {"command": "python -m demo"})
        data = torch.load(path, weights_only=True)
        del data[checkpoints.CHECKSUM]
        torch.save(data, path)  # as ptm_lib saved it before checkpoints had a checksum
        with pytest.warns(UserWarning, match=r"old\.pt holds no checksum.*cannot be verified.*python -m demo") as seen:
            loaded, _, meta = load(path)
        assert len(seen) == 1 and meta == {"command": "python -m demo"}

    def test_a_checkpoint_of_another_kind_names_its_kind(self):
        with pytest.raises(ValueError, match=r"elmo_small\.pt holds a model of kind 'elmo', not 'gpt'; load it "
                                             r"with kind='elmo' or kind=None"):
            load(COMMITTED / "elmo_small.pt", kind="gpt")
        with pytest.raises(ValueError, match=r"holds a model of kind 'gpt', not 'bert'; load it with kind='gpt'"):
            load(COMMITTED / "gpt_small.pt", kind="bert")

    def test_an_unknown_kind_in_the_file_says_to_update(self, tiny, tmp_path):
        path = save(tmp_path / "future.pt", *tiny, {"command": "python -m ptm_lib.pretrain electra"})
        data = torch.load(path, weights_only=True)
        torch.save({**data, "kind": "electra"}, path)
        with pytest.raises(CheckpointError, match=r"kind 'electra', which this ptm_lib cannot load.*update ptm_lib, "
                                                  r"or remake it with the command stored in it: python -m ptm_lib"):
            load(path)

    @pytest.mark.parametrize("content", [b"hello world\n", b"", b"PK\x03\x04 truncated zip"])
    def test_a_file_that_is_no_checkpoint_says_so(self, content, tmp_path):
        path = tmp_path / "notes.pt"
        path.write_bytes(content)
        with pytest.raises(CheckpointError, match=r"notes\.pt is not a ptm-lib checkpoint.*torch\.load failed"):
            load(path)

    def test_a_file_of_another_layout_says_so(self, tmp_path):
        torch.save({"weights": {}}, tmp_path / "other.pt")
        with pytest.raises(CheckpointError, match=r"other\.pt is not a ptm-lib checkpoint.*python -m ptm_lib\.pretrain "
                                                  r"gpt\|bert\|elmo --out .*ptm_lib\.checkpoints\.save"):
            load(tmp_path / "other.pt")

    def test_a_missing_file_names_the_command_that_makes_one(self, tmp_path):
        with pytest.raises(FileNotFoundError, match=r"No checkpoint at .*none\.pt\. Make one with: python -m "
                                                    r"ptm_lib\.pretrain gpt\|bert\|elmo --out"):
            load(tmp_path / "none.pt")
        with pytest.raises(FileNotFoundError, match=r"Make one with: python -m ptm_lib\.pretrain elmo --out"):
            load(tmp_path / "none.pt", kind="elmo")
        with pytest.raises(FileNotFoundError, match=r"Make one with: ptm_lib\.checkpoints\.save\("):
            load(tmp_path / "none.pt", kind="bert-token-classifier")

    def test_a_folder_is_not_a_checkpoint_file(self, tmp_path):
        with pytest.raises(IsADirectoryError, match="is a folder, not a checkpoint file"):
            load(tmp_path)

    def test_an_unknown_kind_argument_lists_the_kinds(self):
        with pytest.raises(ValueError, match=r"kind='GPT'; load reads \['bert', 'bert-encoder', .*'elmo', 'gpt'\]"):
            load(COMMITTED / "gpt_small.pt", kind="GPT")

    def test_save_names_the_kinds_and_the_right_tokenizer(self, tiny, tmp_path):
        model, tokenizer = tiny
        bilm, vocab = tiny_bilm()
        with pytest.raises(ValueError, match=r"saves GPT, BertForPretraining, BiLM, .* got Linear; a new kind of "
                                             r"model needs an entry in ptm_lib\.checkpoints\.KINDS"):
            save(tmp_path / "x.pt", torch.nn.Linear(2, 2), tokenizer, {})
        with pytest.raises(TypeError, match=r"needs the gpt model's tokenizer, a BPETokenizer, got NoneType"):
            save(tmp_path / "x.pt", model, None, {})
        with pytest.raises(TypeError, match=r"needs the elmo model's word vocabulary, a Vocab, got BPETokenizer"):
            save(tmp_path / "x.pt", bilm, tokenizer, {})
        with pytest.raises(TypeError, match=r"needs the gpt model's tokenizer, a BPETokenizer, got Vocab"):
            save(tmp_path / "x.pt", model, vocab, {})
        small = train_bpe(["the cat"] * 5, vocab_size=20)
        with pytest.raises(ValueError, match=rf"the tokenizer has {small.vocab_size} entries but the model's "
                                             rf"config\.vocab_size is {tokenizer.vocab_size}"):
            save(tmp_path / "x.pt", model, small, {})
        assert not list(tmp_path.iterdir())

    def test_save_to_a_folder_or_below_a_file_names_the_path(self, tiny, tmp_path):
        model, tokenizer = tiny
        with pytest.raises(IsADirectoryError, match=r"is a folder; give the checkpoint a file name"):
            save(tmp_path, model, tokenizer, {})
        (tmp_path / "a_file").write_text("x")
        with pytest.raises(NotADirectoryError, match=r"a_file is a file, not a folder; choose another path"):
            save(tmp_path / "a_file" / "x.pt", model, tokenizer, {})

    def test_a_failed_save_leaves_the_previous_file_whole(self, tiny, tmp_path, monkeypatch):
        model, tokenizer = tiny
        path = save(tmp_path / "mine.pt", model, tokenizer, {"steps": 1})
        before = path.read_bytes()

        def interrupted(obj, f):
            Path(f).write_bytes(b"half a checkpoint")
            raise KeyboardInterrupt

        monkeypatch.setattr(checkpoints.torch, "save", interrupted)
        with pytest.raises(KeyboardInterrupt):
            save(path, model, tokenizer, {"steps": 2})
        assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["mine.pt"]


@pytest.fixture
def gpt2_dir(tiny, tmp_path) -> Path:
    """A Hugging Face GPT-2 directory (config.json + model.safetensors) of the tiny model."""
    return pretrained.save_gpt2(tiny[0], tmp_path / "gpt2")


class TestHuggingFaceLoaders:
    def test_a_broken_config_json_is_named(self, gpt2_dir):
        (gpt2_dir / "config.json").write_text('{"n_embd": 16,')
        with pytest.raises(ValueError, match=r"config\.json is not valid JSON.*download the checkpoint again"):
            pretrained.load_gpt2(gpt2_dir)
        (gpt2_dir / "config.json").write_text("[1, 2]")
        with pytest.raises(ValueError, match=r"config\.json holds a JSON list, not an object"):
            pretrained.load_gpt2(gpt2_dir)

    @pytest.mark.parametrize("name, content", [("model.safetensors", b"garbage"),
                                               ("pytorch_model.bin", b"hello world\n")])
    def test_a_damaged_weights_file_is_named(self, gpt2_dir, name, content):
        (gpt2_dir / "model.safetensors").unlink()
        (gpt2_dir / name).write_bytes(content)
        with pytest.raises(ValueError, match=rf"{name} could not be read.*download the checkpoint again"):
            pretrained.load_gpt2(gpt2_dir)

    def test_a_truncated_safetensors_file_is_named(self, gpt2_dir):
        file = gpt2_dir / "model.safetensors"
        file.write_bytes(file.read_bytes()[:-100])
        with pytest.raises(ValueError, match=r"model\.safetensors could not be read"):
            pretrained.load_gpt2(gpt2_dir)

    def test_a_broken_or_incomplete_shard_index_is_named(self, gpt2_dir):
        (gpt2_dir / "model.safetensors").unlink()
        index = gpt2_dir / "model.safetensors.index.json"
        index.write_text("{")
        with pytest.raises(ValueError, match=r"index\.json is not valid JSON"):
            pretrained.load_gpt2(gpt2_dir)
        index.write_text(json.dumps({"weight_map": {"wte.weight": "model-00001-of-00002.safetensors"}}))
        with pytest.raises(FileNotFoundError, match=r"names shards that are not in .*model-00001-of-00002"):
            pretrained.load_gpt2(gpt2_dir)

    def test_a_file_path_names_its_directory(self, gpt2_dir):
        with pytest.raises(NotADirectoryError, match=r"is a file; give the checkpoint directory that holds it"):
            pretrained.load_gpt2(gpt2_dir / "model.safetensors")

    def test_weights_that_do_not_fit_the_config(self, gpt2_dir):
        config = json.loads((gpt2_dir / "config.json").read_text())
        (gpt2_dir / "config.json").write_text(json.dumps({**config, "n_embd": 32}))
        with pytest.raises(ValueError, match=r"do not fit the sizes in its config\.json \(size mismatch.*"
                                             r"download the checkpoint again"):
            pretrained.load_gpt2(gpt2_dir)

    def test_a_config_value_of_the_wrong_type_names_config_json(self, gpt2_dir):
        config = json.loads((gpt2_dir / "config.json").read_text())
        (gpt2_dir / "config.json").write_text(json.dumps({**config, "n_embd": "16"}))
        with pytest.raises(ValueError, match=r"config\.json describes no GPT-2 we can build.*got '16'.*"
                                             r"repair or re-download it"):
            pretrained.load_gpt2(gpt2_dir)

    def test_the_wrong_loader_names_the_right_one(self, gpt2_dir):
        with pytest.raises(ValueError, match=r"'gpt2' model; load_bert reads BERT.*Load it with load_gpt2"):
            pretrained.load_bert(gpt2_dir)
        config = json.loads((gpt2_dir / "config.json").read_text())
        (gpt2_dir / "config.json").write_text(json.dumps({**config, "model_type": "bert"}))
        with pytest.raises(ValueError, match=r"GPT-2 checkpoints only\. Load it with load_bert"):
            pretrained.load_gpt2(gpt2_dir)

    def test_save_gpt2_refuses_a_bert_and_a_file_path(self, tiny, tmp_path):
        bert = BERT(BertConfig(vocab_size=11, max_len=8, d_model=8, n_layers=1, n_heads=2))
        with pytest.raises(TypeError, match=r"save_gpt2 saves our GPT, got BERT"):
            pretrained.save_gpt2(bert, tmp_path / "out")
        (tmp_path / "a_file").write_text("x")
        with pytest.raises(FileExistsError, match=r"a_file is a file; save_gpt2 writes a directory"):
            pretrained.save_gpt2(tiny[0], tmp_path / "a_file")
