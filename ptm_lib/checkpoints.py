"""One checkpoint format for every model the book trains: :func:`save` and :func:`load`.

Where a chapter needs a model trained longer than a reader's session should take, it loads a
checkpoint made by one of the pretraining entry points (:mod:`ptm_lib.pretrain`) and says
so; the book's own are in ``data/checkpoints`` (:func:`book_checkpoint` finds them, in a
clone or where ``pip install`` put them). A fine-tuned model is saved the same way.

A checkpoint is one file, a dict written by ``torch.save`` that loads with
``torch.load(weights_only=True)`` (no pickled code runs):

* ``format`` -- :data:`FORMAT`; ``kind`` -- the entry of :data:`KINDS` that says which
  model class, config class and vocabulary class it holds;
* ``config`` -- the model's config dataclass, as a dict; ``extra_args`` (fine-tuning heads
  only) -- the head's other constructor arguments (``num_labels``, ``dropout``);
* ``weights`` -- the state dict in float16 (a fine-tuned model's in float32, see
  :class:`Kind`), each tied tensor once: an output layer that shares the token embedding
  is stored once and tied again on load;
* ``tokenizer`` -- a subword tokenizer as its ``tokenizers`` JSON text, so the ids always
  match the weights; or ``vocab`` -- a word vocabulary (ELMo) as its words, counts,
  specials and ``min_count``; neither for a fine-tuned model saved without one;
* ``meta`` -- the record of how it was made (:func:`run_record`: the command, steps, tokens
  seen, seconds, hardware, torch version, and the objective's held-out scores), stored as
  plain JSON types;
* ``sha256`` -- :func:`content_sha256` of every other entry. :func:`load` verifies it: a
  file damaged on disk or in transit is refused with an error that names it and says how
  to get a good copy.

:func:`load` returns the model in float32 and eval mode on the CPU, its tokenizer or
vocabulary, and the record. Older files still load: one without a checksum with a warning
that it cannot be verified, and the fine-tuned BERT files of the older layout
``"ptm-lib bert 1"`` (float32 state dict, no tokenizer, no record).

A new kind of model (the coming chapters' ELECTRA, ALBERT, distilled students...) is one
more entry in :data:`KINDS`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import os
import platform
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .data.vocab import Vocab

FORMAT = "ptm-lib checkpoint 1"
CHECKSUM = "sha256"
"""The entry holding :func:`content_sha256` of all the others."""
OLD_BERT_FORMAT = "ptm-lib bert 1"
"""The layout older versions saved fine-tuned BERT models in; :func:`load` still reads it."""


class CheckpointError(ValueError):
    """A file that is not a ptm-lib checkpoint, or one that changed since it was saved."""


@dataclass(frozen=True)
class Kind:
    """One kind of model a checkpoint can hold: an entry of :data:`KINDS`.

    The model is rebuilt as ``model(config(**stored config), **stored extra_args)``; a
    model class with constructor arguments beyond its config says which by an
    ``extra_args()`` method. ``vocabulary`` is the class of its tokenizer (or word
    vocabulary). ``objective`` names the ``python -m ptm_lib.pretrain`` objective that
    makes one; such a pretrained model must be saved with its vocabulary (its ids mean
    nothing without it), while a fine-tuned model (``objective=None``) may go without.
    ``dtype`` is how the weights are stored: float16 for the pretrained models, which keeps
    the files that travel with the book small; float32 for the fine-tuned ones, so that a
    loaded model predicts exactly as it did when it was saved.

    The classes are named by ``"module:Class"`` paths and imported only when used, so that
    this module, which every pretraining entry point imports, depends on no model: chapter
    4's ELMo entry point does not import chapter 7's BERT.
    """

    model_path: str
    config_path: str
    vocabulary_path: str
    objective: str | None = None
    dtype: torch.dtype = torch.float16

    @property
    def model(self) -> type[nn.Module]:
        """The model class (imported when first asked for)."""
        return _resolve(self.model_path)

    @property
    def config(self) -> type:
        """The model's config dataclass."""
        return _resolve(self.config_path)

    @property
    def vocabulary(self) -> type:
        """The class of the model's tokenizer or word vocabulary."""
        return _resolve(self.vocabulary_path)

    def remake(self, path) -> str:
        """How to make a file of this kind at ``path``: the fix that errors name."""
        if self.objective is not None:
            return f"python -m ptm_lib.pretrain {self.objective} --out {path}"
        return f"ptm_lib.checkpoints.save({str(path)!r}, model, tokenizer) after fine-tuning"


def _resolve(path: str) -> type:
    """The class named by ``"package.module:Class"``."""
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


_GPT, _BERT, _ELMO = "ptm_lib.models.gpt:", "ptm_lib.models.bert:", "ptm_lib.models.elmo:"
_BPE, _WORDPIECE = "ptm_lib.data.bpe:BPETokenizer", "ptm_lib.data.wordpiece:WordPieceTokenizer"
_FINE_TUNED = {"dtype": torch.float32}

KINDS: dict[str, Kind] = {
    "gpt": Kind(_GPT + "GPT", "ptm_lib.models.transformer:TransformerConfig", _BPE, objective="gpt"),
    "bert": Kind(_BERT + "BertForPretraining", _BERT + "BertConfig", _WORDPIECE, objective="bert"),
    "elmo": Kind(_ELMO + "BiLM", _ELMO + "BiLMConfig", "ptm_lib.data.vocab:Vocab", objective="elmo"),
    "bert-encoder": Kind(_BERT + "BERT", _BERT + "BertConfig", _WORDPIECE, **_FINE_TUNED),
    "bert-sequence-classifier": Kind(_BERT + "BertForSequenceClassification", _BERT + "BertConfig", _WORDPIECE,
                                     **_FINE_TUNED),
    "bert-token-classifier": Kind(_BERT + "BertForTokenClassification", _BERT + "BertConfig", _WORDPIECE,
                                  **_FINE_TUNED),
    "bert-span-extractor": Kind(_BERT + "BertForSpanExtraction", _BERT + "BertConfig", _WORDPIECE, **_FINE_TUNED),
}
"""Every kind of model a checkpoint can hold, by the ``kind`` name stored in the file."""


# ----------------------------------------------------------------------------- save


def save(path, model: nn.Module, vocabulary=None, record: dict | None = None) -> Path:
    """Write ``model``, its ``vocabulary`` and ``record`` to one file at ``path``; returns the path.

    ``model`` is an instance of a class in :data:`KINDS`; ``vocabulary`` is the tokenizer
    (or, for ELMo, the word :class:`~ptm_lib.data.vocab.Vocab`) it was trained with, which
    only a fine-tuned model may go without; ``record`` says how it was made (anything
    that is not a JSON type, e.g. ``torch.__version__``, is stored as its string). The
    write is atomic: a failed save never leaves a half file, nor harms an earlier one.
    """
    kind = kind_of(model)
    _check_vocabulary(kind, model, vocabulary)
    tied = _tied(model)
    dtype = KINDS[kind].dtype
    entries = {"format": FORMAT, "kind": kind, "config": dataclasses.asdict(model.config),
               **({"extra_args": model.extra_args()} if hasattr(model, "extra_args") else {}),
               "weights": {k: v.detach().to("cpu", dtype) for k, v in model.state_dict().items() if k not in tied},
               **_vocabulary_entries(vocabulary),
               "meta": json.loads(json.dumps(record or {}, default=str))}
    return _write(path, entries)


def kind_of(model: nn.Module) -> str:
    """The :data:`KINDS` name of ``model``'s class (exactly that class, not a subclass)."""
    for name, kind in KINDS.items():
        if type(model) is kind.model:
            return name
    raise ValueError(f"ptm_lib.checkpoints saves {', '.join(k.model.__name__ for k in KINDS.values())}, got "
                     f"{type(model).__name__}; a new kind of model needs an entry in ptm_lib.checkpoints.KINDS.")


def _noun(kind: Kind) -> str:
    return "word vocabulary" if issubclass(kind.vocabulary, Vocab) else "tokenizer"


def _size(vocabulary) -> int:
    return len(vocabulary) if isinstance(vocabulary, Vocab) else vocabulary.vocab_size


def _check_vocabulary(name: str, model: nn.Module, vocabulary) -> None:
    """Refuse a vocabulary of the wrong class or size for the model (or a missing one, unless
    the model is a fine-tuned one)."""
    kind = KINDS[name]
    if vocabulary is None and kind.objective is None:
        return
    noun = _noun(kind)
    if not isinstance(vocabulary, kind.vocabulary):
        optional = "" if kind.objective else ", or None to save the model alone"
        raise TypeError(f"save needs the {name} model's {noun}, a {kind.vocabulary.__name__}, got "
                        f"{type(vocabulary).__name__}; pass the {noun} the model was trained with{optional}.")
    if _size(vocabulary) != model.config.vocab_size:
        raise ValueError(f"the {noun} has {_size(vocabulary)} entries but the model's config.vocab_size is "
                         f"{model.config.vocab_size}; pass the {noun} the model was built for.")


def _vocabulary_entries(vocabulary) -> dict:
    """The file entries that hold ``vocabulary``: ``tokenizer`` (JSON text) or ``vocab``."""
    if vocabulary is None:
        return {}
    if isinstance(vocabulary, Vocab):
        return {"vocab": {"itos": vocabulary.itos, "counts": vocabulary.counts.tolist(),
                          "specials": list(vocabulary.specials), "min_count": vocabulary.min_count}}
    return {"tokenizer": vocabulary.backend.to_str()}


def _tied(model: nn.Module) -> dict[str, str]:
    """``{key: earlier key}`` for state-dict entries that share their tensor with an earlier
    one (an output layer tied to the token embedding): stored once, restored on load."""
    first, tied = {}, {}
    for key, value in model.state_dict(keep_vars=True).items():
        tied_to = first.setdefault(value.data_ptr(), key)
        if tied_to != key:
            tied[key] = tied_to
    return tied


def content_sha256(data: dict) -> str:
    """The sha256 of a checkpoint's contents, every entry but :data:`CHECKSUM` itself: keys
    in sorted order, each tensor as its dtype, shape and bytes, anything else as JSON."""
    digest = hashlib.sha256()
    _hash_into(digest, {k: v for k, v in data.items() if k != CHECKSUM})
    return digest.hexdigest()


def _hash_into(digest, value) -> None:
    """Feed ``value`` (nested dicts of tensors and JSON values) to ``digest``, in a fixed order."""
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu().contiguous().reshape(-1)
        digest.update(f"tensor {tensor.dtype} {tuple(value.shape)}\n".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes())
    elif isinstance(value, dict):
        for key in sorted(value):
            digest.update(f"key {key!r}\n".encode())
            _hash_into(digest, value[key])
    else:
        digest.update(json.dumps(value, sort_keys=True).encode() + b"\n")


def _write(path, entries: dict) -> Path:
    """Add :func:`content_sha256` to ``entries`` and save them at ``path`` atomically (through
    a temporary file in the same folder), so a failed save never leaves a half file."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give the checkpoint a file name, e.g. {path / 'model.pt'}.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as error:
        raise NotADirectoryError(f"cannot make the folder {path.parent} for {path.name}: {error.filename} is a "
                                 "file, not a folder; choose another path.") from error
    entries = {**entries, CHECKSUM: content_sha256(entries)}
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    try:
        torch.save(entries, tmp / path.name)  # the same name, so the archive's inner folder is the same
        os.replace(tmp / path.name, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


# ----------------------------------------------------------------------------- load


def load(path, kind: str | None = None) -> tuple[nn.Module, object, dict]:
    """Read a checkpoint: ``(model, vocabulary, record)``.

    The model is in float32 and eval mode, on the CPU; the vocabulary is the tokenizer
    (a :class:`~ptm_lib.data.bpe.BPETokenizer` for a GPT, a
    :class:`~ptm_lib.data.wordpiece.WordPieceTokenizer` for a BERT) or, for ELMo, the word
    :class:`~ptm_lib.data.vocab.Vocab`, or ``None`` if the model was saved without one.
    ``kind`` (a name in :data:`KINDS`), if given, must be the file's. The file is verified
    first (:func:`content_sha256`).
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind={kind!r}; load reads {sorted(KINDS)} (or None for any of them).")
    path = Path(path)
    data = _read(path, KINDS[kind].remake(path) if kind else _remake_any(path))
    stored = data.get("kind")
    if stored not in KINDS:
        raise CheckpointError(f"{path} holds a model of kind {stored!r}, which this ptm_lib cannot load (it reads "
                              f"{sorted(KINDS)}); update ptm_lib, or {_remake(path, data)}")
    if kind is not None and stored != kind:
        raise ValueError(f"{path} holds a model of kind {stored!r}, not {kind!r}; load it with kind={stored!r} "
                         "or kind=None.")
    _verify(path, data)
    spec = KINDS[stored]
    vocabulary = _read_vocabulary(spec, data, path)
    model = spec.model(spec.config(**data["config"]), **data.get("extra_args", {}))
    weights = {k: v.float() for k, v in data["weights"].items()}
    for key, source in _tied(model).items():
        weights[key] = weights[source]
    model.load_state_dict(weights)
    return model.eval(), vocabulary, data["meta"]


def _read(path: Path, make: str) -> dict:
    """``torch.load`` a checkpoint file, not yet verified; ``make`` is the command that makes
    one, for the error when there is no file."""
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not a checkpoint file; give the path of the .pt file in it.")
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {path}. Make one with: {make}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise CheckpointError(
            f"{path} is not a ptm-lib checkpoint, or it is damaged (torch.load failed: {type(error).__name__}: "
            f"{str(error)[:200]}). Give the path of a .pt file written by ptm_lib; get a fresh copy of a damaged "
            f"one, or remake it with: {make}") from error
    if isinstance(data, dict) and data.get("format") == OLD_BERT_FORMAT:
        return _from_old_bert_layout(data)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a ptm-lib checkpoint ({FORMAT!r}); remake it with: {make}, or "
                              "save the model with ptm_lib.checkpoints.save.")
    return data


def _from_old_bert_layout(saved: dict) -> dict:
    """A file of :data:`OLD_BERT_FORMAT` (class name, config, extra_args, float32 state dict)
    as today's entries: no tokenizer, an empty record, no checksum."""
    kind = next((name for name, k in KINDS.items() if k.model.__name__ == saved.get("class")), saved.get("class"))
    return {"format": FORMAT, "kind": kind, "config": saved["config"], "extra_args": saved["extra_args"],
            "weights": saved["state_dict"], "meta": {}}


def _verify(path: Path, data: dict) -> None:
    """Raise :class:`CheckpointError` if ``data`` no longer matches the sha256 stored in it;
    warn that a file without one (saved by an older ptm_lib) cannot be verified."""
    stored = data.get(CHECKSUM)
    if stored is None:
        warnings.warn(f"{path} holds no checksum (it was saved by an older ptm_lib), so it cannot be verified; "
                      f"to get one, {_remake(path, data)}", stacklevel=3)
    elif content_sha256(data) != stored:
        fresh = (f"restore data/checkpoints/{path.name} from git, or reinstall ptm-lib" if _is_book_file(path)
                 else "copy or download it again")
        raise CheckpointError(f"{path} is damaged: its contents no longer match the sha256 stored in it when it "
                              f"was saved. Do not use it: get a fresh copy ({fresh}), or {_remake(path, data)}")


def _read_vocabulary(kind: Kind, data: dict, path: Path):
    """The tokenizer or word vocabulary stored in ``data``, or ``None``."""
    if "tokenizer" in data:
        from tokenizers import Tokenizer as Backend

        return kind.vocabulary(Backend.from_str(data["tokenizer"]))
    if "vocab" not in data:
        return None
    v = data["vocab"]
    vocab = Vocab(dict(zip(v["itos"], v["counts"])), min_count=1, specials=tuple(v["specials"]))
    if vocab.itos != v["itos"]:
        raise CheckpointError(f"{path}: the stored vocabulary could not be rebuilt in its order; the file is "
                              f"damaged: {_remake(path, data)}")
    vocab.min_count = v["min_count"]
    return vocab


def _remake(path: Path, data: dict) -> str:
    """How to make the file again: the command stored in its record, else its kind's."""
    meta = data.get("meta")
    command = meta.get("command") if isinstance(meta, dict) else None
    if command:
        return f"remake it with the command stored in it: {command}"
    kind = KINDS.get(data.get("kind"))
    return f"remake it with: {kind.remake(path) if kind else _remake_any(path)}"


def _remake_any(path) -> str:
    """The command that makes a checkpoint of any pretrained kind at ``path``."""
    objectives = "|".join(k.objective for k in KINDS.values() if k.objective)
    return f"python -m ptm_lib.pretrain {objectives} --out {path}"


# ----------------------------------------------------------------------------- records and the book's files


def machine_record() -> dict:
    """The CPU, torch's threads and torch's version: what every record of a run keeps (a
    checkpoint's :func:`run_record`, a results grid's :func:`ptm_lib.results.run_record`)."""
    return {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
            "torch": torch.__version__}


def run_record(program: str, argv: list[str] | None, model: nn.Module, steps: int, tokens_per_step: int,
               seconds: float) -> dict:
    """The ``meta`` facts every checkpoint keeps: the command that made it (``program`` and
    its arguments ``argv``, by default ``sys.argv[1:]``), steps, tokens seen, seconds,
    device, and the :func:`machine_record` (CPU, threads and torch version)."""
    return {"command": program + " " + " ".join(argv if argv is not None else sys.argv[1:]),
            "steps": steps, "tokens_seen": steps * tokens_per_step, "seconds": round(seconds),
            "device": str(next(model.parameters()).device), **machine_record()}


def book_data_folders(kind: str) -> list[Path]:
    """Where the book's files of ``kind`` (``"checkpoints"``, ``"results"``) are looked for, in
    order: the repository's ``data/<kind>`` (a clone or an editable install), then the copy
    that ``pip install`` puts under ``<sys.prefix>/share/ptm-lib/<kind>`` (pyproject's
    ``data-files``)."""
    return [Path(__file__).resolve().parent.parent / "data" / kind, Path(sys.prefix) / "share" / "ptm-lib" / kind]


def book_checkpoint_folders() -> list[Path]:
    """Where the book's checkpoints are looked for: :func:`book_data_folders` of ``"checkpoints"``."""
    return book_data_folders("checkpoints")


def book_checkpoint(name: str) -> Path:
    """The path of the book's checkpoint ``name`` (e.g. ``"gpt_small.pt"``), wherever it was installed."""
    for folder in book_checkpoint_folders():
        if (folder / name).is_file():
            return folder / name
    out = f"data/checkpoints/{name}"
    objective = name.split("_")[0]
    make = KINDS[objective].remake(out) if objective in KINDS and KINDS[objective].objective else _remake_any(out)
    raise FileNotFoundError(f"No checkpoint {name!r} in {[str(f) for f in book_checkpoint_folders()]}. Reinstall "
                            f"the package, or make it with: {make}")


def _is_book_file(path: Path) -> bool:
    """Whether ``path`` has the name of one of the book's checkpoints (a copy of one, maybe)."""
    return any((folder / path.name).is_file() for folder in book_checkpoint_folders())


__all__ = ["FORMAT", "CHECKSUM", "OLD_BERT_FORMAT", "CheckpointError", "Kind", "KINDS", "save", "load", "kind_of",
           "content_sha256", "machine_record", "run_record", "book_checkpoint", "book_data_folders",
           "book_checkpoint_folders"]
