"""The book's pretraining entry point: train a model on the book's corpus and save a checkpoint.

A chapter trains its model in the reader's session whenever a CPU can do it in a couple of
minutes. Some results need longer; then the chapter loads a checkpoint made by this module
instead (DESIGN.md section 4) and says so, and anyone can remake it::

    python -m ptm_lib.pretrain gpt --steps 6000 --out data/checkpoints/gpt_small.pt

A checkpoint is one small file: the model's config and fp16 weights, the tokenizer (as its
JSON text, so the ids always match the weights) and a ``meta`` record of how it was made:
the command, steps, tokens seen, seconds, hardware, torch version and held-out perplexity.
:func:`load_checkpoint` returns the model in float32, in eval mode.

The corpus is :func:`ptm_lib.data.text.pretraining_corpus` (Wikipedia sample plus the BBC
training articles, 1.13M words) cut into subwords by a BPE tokenizer trained on it; the
held-out text is the BBC *test* articles, which no pretraining run ever sees.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from . import runtime
from .data import lm, text
from .data.bpe import Tokenizer, train_bpe
from .data.subword import SubwordTokenizer
from .data.wordpiece import WordPieceTokenizer
from .models.bert import BertConfig, BertForPretraining
from .models.gpt import GPT, lm_loss
from .models.transformer import TransformerConfig
from .train import fit

FORMAT = "ptm-lib checkpoint 1"


def corpus_texts() -> list[str]:
    """The pretraining corpus as one lowercased, space-separated string per document."""
    return [" ".join(words) for words in text.pretraining_corpus()]


def held_out_texts() -> list[str]:
    """The BBC test articles (never in the pretraining corpus), normalised the same way."""
    articles = text.load_bbc()
    return [" ".join(text.tokenize(articles[i][2])) for i in text.bbc_split()["test"]]


def book_tokenizer(vocab_size: int = 2000) -> Tokenizer:
    """The BPE tokenizer of chapters 6 and on: ``vocab_size`` subwords learned from the corpus."""
    return train_bpe(corpus_texts(), vocab_size=vocab_size)


def token_stream(tokenizer: Tokenizer, texts: list[str]) -> torch.Tensor:
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


KINDS = {"gpt": (GPT, TransformerConfig, Tokenizer), "bert": (BertForPretraining, BertConfig, WordPieceTokenizer)}
"""What a checkpoint can hold, by the ``kind`` stored in it: the model class, its config
class and the tokenizer class it was trained with."""


def _kind(model) -> str:
    for kind, (cls, _, _) in KINDS.items():
        if type(model) is cls:
            return kind
    raise ValueError(f"save_checkpoint saves {[c.__name__ for c, _, _ in KINDS.values()]}, "
                     f"got {type(model).__name__}.")


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
    path = Path(path)
    kind = _kind(model)
    meta = json.loads(json.dumps(meta, default=str))
    path.parent.mkdir(parents=True, exist_ok=True)
    tied = _tied(model)
    weights = {k: v.detach().to("cpu", torch.float16) for k, v in model.state_dict().items() if k not in tied}
    torch.save({"format": FORMAT, "kind": kind, "config": dataclasses.asdict(model.config),
                "weights": weights, "tokenizer": tokenizer.backend.to_str(), "meta": meta}, path)
    return path


def load_checkpoint(path, kind: str | None = None):
    """Read a file written by :func:`save_checkpoint`: ``(model in eval mode, tokenizer, meta)``.

    The tokenizer is a BPE :class:`~ptm_lib.data.bpe.Tokenizer` for a GPT and a
    :class:`~ptm_lib.data.wordpiece.WordPieceTokenizer` for a BERT. ``kind`` (``"gpt"`` or
    ``"bert"``), if given, must match the file's."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {path}. Make one with: python -m ptm_lib.pretrain gpt --out {path} "
                                f"(or python -m ptm_lib.pretrain_bert --out {path})")
    data = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path} is not a ptm-lib checkpoint ({FORMAT!r}); remake it with python -m ptm_lib.pretrain.")
    if kind is not None and data["kind"] != kind:
        raise ValueError(f"{path} holds a {data['kind']} model, not a {kind}.")
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


def training_parser(prog: str, doc: str, steps: int, seq: int, seq_help: str, d_model: int, layers: int,
                    lr: float) -> argparse.ArgumentParser:
    """The command line every pretraining entry point shares: ``--out``, ``--steps``,
    ``--batch-size``, ``--seq``, ``--d-model``, ``--layers``, ``--lr``, ``--seed``, ``--threads``
    (with the given defaults); each entry point adds its own options."""
    parser = argparse.ArgumentParser(prog=prog, description=doc.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="checkpoint file to write")
    parser.add_argument("--steps", type=int, default=steps)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq", type=int, default=seq, help=seq_help)
    parser.add_argument("--d-model", type=int, default=d_model)
    parser.add_argument("--layers", type=int, default=layers)
    parser.add_argument("--lr", type=float, default=lr)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    return parser


def report(path: Path, meta: dict) -> None:
    """Print a checkpoint's record (without its curves) and its size."""
    print(json.dumps({k: v for k, v in meta.items() if not isinstance(v, list)}))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


def pretrain_gpt(config: TransformerConfig, tokenizer: Tokenizer, steps: int, batch_size: int = 32,
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
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--vocab", type=int, default=2000)
    args = parser.parse_args(argv)
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
    report(save_checkpoint(args.out, model.cpu(), tokenizer, meta), meta)

if __name__ == "__main__":
    main()
