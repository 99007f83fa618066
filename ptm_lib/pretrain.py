"""The book's pretraining entry point: train a model on the book's corpus and save a checkpoint.

A chapter trains its model in the reader's session whenever a CPU can do it in a couple of
minutes. Some results need longer; then the chapter loads a checkpoint made by this module
instead (DESIGN.md section 4) and says so, and anyone can remake it::

    python -m ptm_lib.pretrain gpt --steps 6000 --out data/checkpoints/gpt_small.pt

A checkpoint is one small file: the model's config and fp16 weights, the tokenizer (as its
JSON text, so the ids always match the weights) and a ``meta`` record of how it was made:
the command, steps, tokens seen, seconds, hardware, torch version and held-out perplexity.
:func:`load_checkpoint` returns the model in float32, in eval mode.

Every checkpoint saved now also holds a ``sha256`` of its contents (:func:`content_sha256`),
which loading verifies: a file damaged on disk or in transit is refused with an error that
names it and says how to get a good copy. The book's three committed checkpoints predate
this; their whole-file sha256 is recorded in ``COMMITTED_SHA256`` and checked instead. Any
other file without a checksum loads with a warning that it cannot be verified.

The corpus is :func:`ptm_lib.data.text.pretraining_corpus` (Wikipedia sample plus the BBC
training articles, 1.13M words) cut into subwords by a BPE tokenizer trained on it; the
held-out text is the BBC *test* articles, which no pretraining run ever sees.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from . import runtime
from .data import lm, text
from .data.sources import file_sha256
from .data.bpe import BPETokenizer, train_bpe
from .data.subword import SubwordTokenizer
from .data.wordpiece import WordPieceTokenizer
from .models.bert import BertConfig, BertForPretraining
from .models.gpt import GPT, lm_loss
from .models.transformer import TransformerConfig
from .train import fit

FORMAT = "ptm-lib checkpoint 1"
CHECKSUM = "sha256"
"""The checkpoint entry holding :func:`content_sha256` of all the others."""

COMMITTED_SHA256 = {
    "gpt_small.pt": "cbe46212e0f5326aa129c08596bf6259dc6abbaffbccbf9aa1f8b49119e21ef4",
    "bert_small.pt": "52354107038960bf1d406fe5f8a47353739d26fc792ffb2aa336b966e2c5a400",
    "elmo_small.pt": "463c8929c7e537c2c3cec80a053f2b3e8a6f1f9b390313e27e82db45ca58226e",
}
"""Whole-file sha256 of the book's checkpoints in ``data/checkpoints``, saved before
checkpoints carried a checksum: a file of one of these names must match its digest."""


class CheckpointError(ValueError):
    """A file that is not a ptm-lib checkpoint, or one that changed since it was saved."""


def corpus_texts() -> list[str]:
    """The pretraining corpus as one lowercased, space-separated string per document."""
    return [" ".join(words) for words in text.pretraining_corpus()]


def held_out_texts() -> list[str]:
    """The BBC test articles (never in the pretraining corpus), normalised the same way."""
    articles = text.load_bbc()
    return [" ".join(text.tokenize(articles[i][2])) for i in text.bbc_split()["test"]]


def book_tokenizer(vocab_size: int = 2000) -> BPETokenizer:
    """The BPE tokenizer of chapters 6 and on: ``vocab_size`` subwords learned from the corpus."""
    return train_bpe(corpus_texts(), vocab_size=vocab_size)


def token_stream(tokenizer: BPETokenizer, texts: list[str]) -> torch.Tensor:
    """All documents' token ids, one after another, as a 1-D int64 tensor."""
    return torch.from_numpy(np.concatenate([np.asarray(ids, dtype=np.int64) for ids in tokenizer.encode_batch(texts)]))


@torch.no_grad()
def stream_perplexity(model: GPT, rows: torch.Tensor, batch_size: int = 64) -> float:
    """Perplexity per token of ``model`` on ``(N, T + 1)`` rows from :func:`ptm_lib.data.lm.chunks`."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    total = sum(lm_loss(model, rows[i:i + batch_size].to(device)).item() * len(rows[i:i + batch_size])
                for i in range(0, len(rows), batch_size))
    model.train(was_training)
    return math.exp(total / len(rows))


def checkpoint_folders() -> list[Path]:
    """Where the book's checkpoints are looked for, in order: the repository's
    ``data/checkpoints`` (a clone or an editable install), then the copy that ``pip install``
    puts under ``<sys.prefix>/share/ptm-lib/checkpoints`` (pyproject's ``data-files``)."""
    return [Path(__file__).resolve().parent.parent / "data" / "checkpoints",
            Path(sys.prefix) / "share" / "ptm-lib" / "checkpoints"]


def checkpoint_path(name: str) -> Path:
    """The path of the book checkpoint ``name`` (e.g. ``"gpt_small.pt"``), wherever it was installed."""
    for folder in checkpoint_folders():
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"No checkpoint {name!r} in {[str(f) for f in checkpoint_folders()]}. Reinstall the "
                            "package, or make it with: python -m ptm_lib.pretrain gpt --out data/checkpoints/" + name)


KINDS = {"gpt": (GPT, TransformerConfig, BPETokenizer), "bert": (BertForPretraining, BertConfig, WordPieceTokenizer)}
"""What a checkpoint can hold, by the ``kind`` stored in it: the model class, its config
class and the tokenizer class it was trained with."""


def _kind(model) -> str:
    for kind, (cls, _, _) in KINDS.items():
        if type(model) is cls:
            return kind
    hint = " Save an ELMo BiLM with ptm_lib.models.elmo.save_elmo." if type(model).__name__ == "BiLM" else ""
    raise ValueError(f"save_checkpoint saves {[c.__name__ for c, _, _ in KINDS.values()]}, "
                     f"got {type(model).__name__}.{hint}")


def _tied(model) -> dict[str, str]:
    """``{key: earlier key}`` for state-dict entries that share their tensor with an earlier
    one (an output layer tied to the token embedding): stored once, restored on load."""
    first, tied = {}, {}
    for key, value in model.state_dict(keep_vars=True).items():
        tied_to = first.setdefault(value.data_ptr(), key)
        if tied_to != key:
            tied[key] = tied_to
    return tied


def save_checkpoint(path, model, tokenizer: SubwordTokenizer, meta: dict) -> Path:
    """Write ``model`` (a :class:`GPT` or :class:`BertForPretraining`; fp16 weights, tied
    tensors once), its ``tokenizer`` and ``meta`` to one file at ``path``.

    ``meta`` is stored as plain JSON types (anything else, e.g. ``torch.__version__``, as its
    string), so the file loads with ``torch.load(weights_only=True)``."""
    kind = _kind(model)
    wanted = KINDS[kind][2]
    if not isinstance(tokenizer, wanted):
        raise TypeError(f"save_checkpoint needs the {kind} model's tokenizer, a {wanted.__name__}, "
                        f"got {type(tokenizer).__name__}; pass the tokenizer the model was trained with.")
    meta = json.loads(json.dumps(meta, default=str))
    tied = _tied(model)
    weights = {k: v.detach().to("cpu", torch.float16) for k, v in model.state_dict().items() if k not in tied}
    return write_checkpoint(path, {"format": FORMAT, "kind": kind, "config": dataclasses.asdict(model.config),
                                   "weights": weights, "tokenizer": tokenizer.backend.to_str(), "meta": meta})


def content_sha256(data: dict) -> str:
    """The sha256 of a checkpoint's contents, every entry but ``CHECKSUM`` itself: keys in
    sorted order, each tensor as its dtype, shape and bytes, anything else as JSON."""
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


def write_checkpoint(path, data: dict) -> Path:
    """Add :func:`content_sha256` to ``data`` and save it at ``path`` atomically (through a
    temporary file in the same folder), so a failed save never leaves a half file."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give the checkpoint a file name, e.g. {path / 'model.pt'}.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as error:
        raise NotADirectoryError(f"cannot make the folder {path.parent} for {path.name}: {error.filename} is a "
                                 "file, not a folder; choose another path.") from error
    data = {**data, CHECKSUM: content_sha256(data)}
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    try:
        torch.save(data, tmp / path.name)  # the same name, so the archive's inner folder is the same
        os.replace(tmp / path.name, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def read_checkpoint(path, make: str) -> dict:
    """``torch.load`` a ptm-lib checkpoint file (not yet verified: see :func:`verify_checkpoint`).
    ``make`` is the command that makes one, for the error when there is no file."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not a checkpoint file; give the path of the .pt file in it.")
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {path}. Make one with: {make.format(path=path)}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise CheckpointError(
            f"{path} is not a ptm-lib checkpoint, or it is damaged (torch.load failed: {type(error).__name__}: "
            f"{str(error)[:200]}). Give the path of a .pt file written by ptm_lib; get a fresh copy of a damaged "
            f"one, or remake it with: {make.format(path=path)}") from error
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a ptm-lib checkpoint ({FORMAT!r}); remake it with python -m "
                              "ptm_lib.pretrain (GPT), ptm_lib.pretrain_bert or ptm_lib.pretrain_elmo.")
    return data


def verify_checkpoint(path, data: dict) -> None:
    """Check that the checkpoint at ``path`` (contents ``data``) is as it was saved: its
    stored ``sha256``, else for the book's own files ``COMMITTED_SHA256``; raise
    :class:`CheckpointError` if not. A file with neither loads with a warning."""
    path = Path(path)
    stored = data.get(CHECKSUM)
    if stored is not None:
        if content_sha256(data) != stored:
            _damaged(path, data, "its contents no longer match the sha256 stored in it when it was saved")
        return
    digest = file_sha256(path)
    expected = COMMITTED_SHA256.get(path.name)
    if expected is not None and digest != expected:
        _damaged(path, data, f"it is not the book's {path.name} (its sha256 is {digest}, expected {expected})")
    if digest not in COMMITTED_SHA256.values():
        warnings.warn(f"{path} holds no checksum (it was saved by an older ptm_lib), so it cannot be verified; "
                      f"remake it with: {_command(data)} to get one.", stacklevel=3)


def _command(data: dict) -> str:
    """The command stored in a checkpoint's ``meta`` (how to remake it)."""
    meta = data.get("meta")
    command = meta.get("command") if isinstance(meta, dict) else None
    return command or "python -m ptm_lib.pretrain gpt | ptm_lib.pretrain_bert | ptm_lib.pretrain_elmo --out <file>"


def _damaged(path: Path, data: dict, problem: str):
    """Raise :class:`CheckpointError` for a checkpoint whose bytes changed since it was saved."""
    fresh = (f"restore data/checkpoints/{path.name} from git, or reinstall ptm-lib" if path.name in COMMITTED_SHA256
             else "copy or download it again")
    raise CheckpointError(f"{path} is damaged: {problem}. Do not use it: get a fresh copy ({fresh}), or remake it "
                          f"with the command stored in it: {_command(data)}")


def load_checkpoint(path, kind: str | None = None):
    """Read a file written by :func:`save_checkpoint`: ``(model in eval mode, tokenizer, meta)``.

    The tokenizer is a BPE :class:`~ptm_lib.data.bpe.BPETokenizer` for a GPT and a
    :class:`~ptm_lib.data.wordpiece.WordPieceTokenizer` for a BERT. ``kind`` (``"gpt"`` or
    ``"bert"``), if given, must match the file's."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind={kind!r}; load_checkpoint reads {sorted(KINDS)} (or None for any of them); "
                         "an ELMo checkpoint loads with ptm_lib.models.elmo.load_elmo.")
    path = Path(path)
    data = read_checkpoint(path, "python -m ptm_lib.pretrain gpt --out {path} "
                                 "(or python -m ptm_lib.pretrain_bert --out {path})")
    stored = data.get("kind")
    if stored == "elmo":
        raise CheckpointError(f"{path} is an ELMo checkpoint (kind 'elmo'); load it with "
                              f"ptm_lib.models.elmo.load_elmo({str(path)!r}).")
    if stored not in KINDS:
        raise CheckpointError(f"{path} holds a model of kind {stored!r}, which this ptm_lib cannot load (it reads "
                              f"{sorted(KINDS)}); update ptm_lib, or remake the file with: {_command(data)}")
    if kind is not None and stored != kind:
        raise ValueError(f"{path} holds a {stored} model, not a {kind}; load it with kind={stored!r} or kind=None.")
    verify_checkpoint(path, data)
    from tokenizers import Tokenizer as Backend

    model_class, config_class, tokenizer_class = KINDS[data["kind"]]
    model = model_class(config_class(**data["config"]))
    weights = {k: v.float() for k, v in data["weights"].items()}
    for key, source in _tied(model).items():
        weights[key] = weights[source]
    model.load_state_dict(weights)
    return model.eval(), tokenizer_class(Backend.from_str(data["tokenizer"])), data["meta"]


def run_record(program: str, argv: list[str] | None, model, steps: int, tokens_per_step: int,
               seconds: float) -> dict:
    """The ``meta`` facts every checkpoint keeps: the command that made it, steps, tokens
    seen, seconds, device, CPU, threads and torch version."""
    return {"command": program + " " + " ".join(argv if argv is not None else sys.argv[1:]),
            "steps": steps, "tokens_seen": steps * tokens_per_step, "seconds": round(seconds),
            "device": str(next(model.parameters()).device), "cpu": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(), "torch": torch.__version__}


def int_at_least(low: int) -> Callable[[str], int]:
    """An argparse ``type``: a whole number of at least ``low``; argparse names the option."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; give one of at least {low}.") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"got {value}; give a whole number of at least {low}.")
        return value

    parse.__name__ = f"whole number >= {low}"
    return parse


def positive_float(text: str) -> float:
    """An argparse ``type``: a finite number above zero (a learning rate)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give a positive one such as 1e-3.") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"got {text}; give a finite number above 0, such as 1e-3.")
    return value


def checkpoint_file(text: str) -> str:
    """An argparse ``type`` for ``--out``: a ``.pt`` file that can be written, checked before
    any training so that a long run cannot fail when it saves."""
    path = Path(text).expanduser()
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder; give a file path in it, e.g. {path / 'model.pt'}.")
    if path.suffix != ".pt":
        raise argparse.ArgumentTypeError(f"{text!r} does not end in .pt; give a checkpoint file name such as "
                                         f"{path.with_name(path.stem + '.pt') if path.name else 'model.pt'}.")
    existing = next(p for p in path.absolute().parents if p.exists())
    if not existing.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} cannot be created: {existing} is a file, not a folder; "
                                         "choose another path.")
    if not os.access(existing, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise argparse.ArgumentTypeError(f"{text!r} cannot be written (no write permission in {existing}); "
                                         "choose a folder you can write to.")
    return text


def training_parser(prog: str, doc: str, steps: int, seq: int, seq_help: str, d_model: int, layers: int,
                    lr: float, min_seq: int = 2) -> argparse.ArgumentParser:
    """The command line every pretraining entry point shares: ``--out``, ``--steps``,
    ``--batch-size``, ``--seq``, ``--d-model``, ``--layers``, ``--lr``, ``--seed``, ``--threads``
    (with the given defaults); each entry point adds its own options. Values that cannot
    work (``--steps 0``, ``--seq`` below ``min_seq``, ``--lr nan``, ``--out`` a folder...) are
    usage errors naming the option."""
    parser = argparse.ArgumentParser(prog=prog, description=doc.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=checkpoint_file, help="checkpoint file to write (.pt)")
    parser.add_argument("--steps", type=int_at_least(1), default=steps)
    parser.add_argument("--batch-size", type=int_at_least(1), default=32)
    parser.add_argument("--seq", type=int_at_least(min_seq), default=seq, help=seq_help)
    parser.add_argument("--d-model", type=int_at_least(1), default=d_model)
    parser.add_argument("--layers", type=int_at_least(1), default=layers)
    parser.add_argument("--lr", type=positive_float, default=lr)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int_at_least(1), default=None)
    return parser


def check_config(parser: argparse.ArgumentParser, make: Callable[[], object]) -> None:
    """Build the model's config from the options before any work, so that a combination no
    model can have (``--heads`` that does not divide ``--d-model``...) is a usage error."""
    try:
        make()
    except ValueError as error:
        parser.error(f"these options describe no valid model: {error}")


def save_or_rescue(save: Callable[[Path], Path], out) -> Path:
    """``save(out)``; if that fails after a long run (disk full, folder removed), save to the
    temporary folder instead and exit with a message saying where, so no work is lost.
    (``torch.save`` reports a failed write as a ``RuntimeError``.)"""
    try:
        return save(Path(out))
    except (OSError, RuntimeError) as error:
        rescue = Path(tempfile.gettempdir()) / f"{Path(out).stem}-rescued-{time.strftime('%Y%m%d-%H%M%S')}.pt"
        save(rescue)
        raise SystemExit(f"could not write {out} ({error}); the trained model was saved to {rescue} instead: "
                         "move it where you want it.") from error


def report(path: Path, meta: dict) -> None:
    """Print a checkpoint's record (without its curves) and its size."""
    print(json.dumps({k: v for k, v in meta.items() if not isinstance(v, list)}))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


def pretrain_gpt(config: TransformerConfig, tokenizer: BPETokenizer, steps: int, batch_size: int = 32,
                 lr: float = 3e-3, seed: int = 0, device=None, eval_every: int = 500):
    """Train a fresh GPT on the corpus for ``steps`` updates; returns ``(model, history)``.

    Rows of ``config.max_len + 1`` tokens, AdamW with a 5% warm-up and cosine decay; the
    history's ``val`` records hold the held-out perplexity (first 640 held-out rows).
    """
    torch.manual_seed(seed)
    rows = lm.chunks(token_stream(tokenizer, corpus_texts()), config.max_len)
    held_out = lm.chunks(token_stream(tokenizer, held_out_texts()), config.max_len)[:640]
    model = GPT(config).to(device or runtime.pick_device())
    history = fit(model, lm.Batches(rows, None, batch_size, seed=seed), lm_loss, steps=steps, lr=lr,
                  schedule="cosine", warmup=0.05, weight_decay=0.01,
                  evaluate=lambda m: {"perplexity": stream_perplexity(m, held_out)},
                  eval_every=eval_every, log_every=50, desc="pretrain GPT")
    return model, history


def main(argv: list[str] | None = None) -> None:
    parser = training_parser("python -m ptm_lib.pretrain", __doc__, steps=6000, seq=64,
                             seq_help="context length (max_len)", d_model=128, layers=2, lr=3e-3)
    parser.add_argument("model", choices=["gpt"])
    parser.add_argument("--heads", type=int_at_least(1), default=4)
    parser.add_argument("--vocab", type=int_at_least(1), default=2000)
    args = parser.parse_args(argv)
    check_config(parser, lambda: TransformerConfig(vocab_size=args.vocab, max_len=args.seq, d_model=args.d_model,
                                                   n_layers=args.layers, n_heads=args.heads))
    runtime.set_threads(args.threads)
    tokenizer = book_tokenizer(args.vocab)
    config = TransformerConfig(vocab_size=tokenizer.vocab_size, max_len=args.seq, d_model=args.d_model,
                               n_layers=args.layers, n_heads=args.heads)
    start = time.perf_counter()
    model, history = pretrain_gpt(config, tokenizer, args.steps, args.batch_size, args.lr, args.seed)
    meta = run_record("python -m ptm_lib.pretrain", argv, model, args.steps, args.batch_size * args.seq,
                      time.perf_counter() - start)
    meta.update({"held_out_perplexity": round(history.last("perplexity"), 2),
                 "train_loss": [[r["step"], round(r["loss"], 4)] for r in history.train],
                 "val_perplexity": [[r["step"], round(r["perplexity"], 2)] for r in history.val]})
    report(save_or_rescue(lambda out: save_checkpoint(out, model.cpu(), tokenizer, meta), args.out), meta)

if __name__ == "__main__":
    main()
