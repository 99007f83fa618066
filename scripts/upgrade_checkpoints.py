"""Bring the book's checkpoints (data/checkpoints) up to today's format, changing nothing they hold.

The three files were saved before checkpoints carried a content sha256, and two of them
record the commands of entry points that have since been renamed: ``python -m
ptm_lib.pretrain_bert`` and ``python -m ptm_lib.pretrain_elmo`` are now ``python -m
ptm_lib.pretrain bert`` and ``python -m ptm_lib.pretrain elmo``. For each file this script

1. checks that it is the file that was committed (its whole-file sha256, below);
2. loads it with :func:`ptm_lib.checkpoints.load` and saves it again with
   :func:`ptm_lib.checkpoints.save`, which writes the sha256; the record's ``command``
   becomes today's equivalent, and the command as it was run is kept as ``command_as_run``;
3. checks that nothing else changed: every weight tensor bit for bit (dtype and shape
   too), the config, the tokenizer's JSON or the word vocabulary, the rest of the record,
   and the model the new file loads into. Otherwise it puts the original back.

ELMo's ``chars`` entry, a note describing the fixed character ids that nothing read, is not
written any more. A file that already carries a sha256 is left alone, so running the
script again changes nothing::

    .venv/bin/python scripts/upgrade_checkpoints.py
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import torch

from ptm_lib import checkpoints

FOLDER = Path(__file__).resolve().parent.parent / "data" / "checkpoints"
COMMITTED_SHA256 = {
    "gpt_small.pt": "cbe46212e0f5326aa129c08596bf6259dc6abbaffbccbf9aa1f8b49119e21ef4",
    "bert_small.pt": "52354107038960bf1d406fe5f8a47353739d26fc792ffb2aa336b966e2c5a400",
    "elmo_small.pt": "463c8929c7e537c2c3cec80a053f2b3e8a6f1f9b390313e27e82db45ca58226e",
}
"""Whole-file sha256 of each checkpoint as it was committed, before it carried a checksum."""
RENAMED = {"python -m ptm_lib.pretrain_bert": "python -m ptm_lib.pretrain bert",
           "python -m ptm_lib.pretrain_elmo": "python -m ptm_lib.pretrain elmo"}
"""Old entry point -> today's command (the options are the same)."""
DROPPED = {"chars"}
"""Entries of the old files that today's format does not write."""


def todays_command(command: str) -> str:
    """``command`` with a renamed entry point replaced by today's."""
    for old, new in RENAMED.items():
        if command == old or command.startswith(old + " "):
            return new + command[len(old):]
    return command


def upgraded_record(record: dict) -> dict:
    """The record with today's command, and the command as run right after it if they differ."""
    command = todays_command(record["command"])
    if command == record["command"]:
        return dict(record)
    out = {}
    for key, value in record.items():
        out[key] = command if key == "command" else value
        if key == "command":
            out["command_as_run"] = value
    return out


def check_unchanged(before: dict, after: dict, model: torch.nn.Module, path: Path) -> None:
    """Raise ``AssertionError`` unless ``after`` (the new file) holds what ``before`` held."""
    assert set(after) == (set(before) - DROPPED) | {checkpoints.CHECKSUM}, sorted(after)
    assert after[checkpoints.CHECKSUM] == checkpoints.content_sha256(after)
    for key in set(before) - DROPPED - {"weights", "meta"}:
        assert after[key] == before[key], key
    assert before["weights"].keys() == after["weights"].keys()
    for key, tensor in before["weights"].items():
        assert after["weights"][key].dtype == tensor.dtype and torch.equal(after["weights"][key], tensor), key
    assert after["meta"] == upgraded_record(before["meta"])
    reloaded = checkpoints.load(path)[0].state_dict()
    assert all(torch.equal(reloaded[k], v) for k, v in model.state_dict().items())


def upgrade(path: Path) -> bool:
    """Upgrade the checkpoint at ``path`` in place; ``False`` if it already was."""
    original = path.read_bytes()
    before = torch.load(path, map_location="cpu", weights_only=True)
    if checkpoints.CHECKSUM in before:
        return False
    digest = hashlib.sha256(original).hexdigest()
    if digest != COMMITTED_SHA256[path.name]:
        raise SystemExit(f"{path} is not the committed file (sha256 {digest}); restore it from git first.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no checksum to verify yet: the whole-file digest above stands in for it
        model, vocabulary, record = checkpoints.load(path, kind=before["kind"])
    checkpoints.save(path, model, vocabulary, upgraded_record(record))
    try:
        check_unchanged(before, torch.load(path, map_location="cpu", weights_only=True), model, path)
    except AssertionError:
        path.write_bytes(original)
        raise
    return True


def main() -> None:
    for name in COMMITTED_SHA256:
        path = FOLDER / name
        done = upgrade(path)
        meta = torch.load(path, weights_only=True)["meta"]
        print(f"{name}: {'upgraded' if done else 'already up to date'}; command: {meta['command']}")


if __name__ == "__main__":
    main()
