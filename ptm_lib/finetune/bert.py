"""Fine-tuning a pretrained BERT (chapter 7): one small layer on top, every weight trained briefly.

The twin of :mod:`ptm_lib.finetune.gpt` (chapter 6).

Devlin et al. (2019), section 4 and figure 4. For each downstream task BERT adds the
smallest possible output layer to the pretrained encoder and trains *all* parameters
end-to-end for 2-4 epochs with a small learning rate (5e-5, 3e-5 or 2e-5; appendix A.3).
The input is always ``[CLS] A [SEP]`` or ``[CLS] A [SEP] B [SEP]``; the output layer reads

* the pooled ``[CLS]`` vector for a label of one sentence or of a pair
  (:class:`~ptm_lib.models.bert.BertForSequenceClassification`),
* every token's vector for a label per token
  (:class:`~ptm_lib.models.bert.BertForTokenClassification`),
* every token's vector for the start and end of an answer span
  (:class:`~ptm_lib.models.bert.BertForSpanExtraction`).

A task's data is a dict of equal-length tensors (``ids``, ``segments``, ``attention_mask``
and the labels the loss reads), as :func:`encode_texts`,
:func:`ptm_lib.data.ner.encode_tagged` and :func:`ptm_lib.data.spans.encode_spans` build
it; :class:`~ptm_lib.data.batches.TensorBatches` cuts it into shuffled mini-batches, each
trimmed to its longest text, and :func:`fine_tune` runs :func:`ptm_lib.train.fit` with
BERT's schedule (linear warm-up over the first 10% of the updates, then linear decay).
:func:`ptm_lib.evaluate.predict` runs a fine-tuned model on such a dict, and
:func:`classification_accuracy` scores a sentence (or pair) classifier on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch

from ..data.batches import TensorBatches, pad_rows
from ..data.mlm import pack_pair
from ..data.wordpiece import WordPieceTokenizer
from ..evaluate import accuracy
from ..train import History, fit


def encode_texts(tokenizer: WordPieceTokenizer, texts: Sequence[str], max_len: int,
                 texts_b: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
    """``[CLS] a [SEP]`` (or ``[CLS] a [SEP] b [SEP]`` with ``texts_b``) for each text, right-padded.

    Returns ``ids``, ``segments`` and ``attention_mask``, each ``(N, T)`` with ``T <= max_len``.
    Longer inputs are cut to fit: one text at its end, a pair one token at a time from the
    longer side (at the end, so the start of both texts is kept).
    """
    if texts_b is not None and len(texts_b) != len(texts):
        raise ValueError(f"{len(texts)} first texts but {len(texts_b)} second texts; give one of each per example.")
    if not texts:
        raise ValueError("encode_texts got no texts.")
    budget = max_len - (3 if texts_b is not None else 2)
    if budget < 2:
        raise ValueError(f"max_len={max_len} leaves no room for text between [CLS] and [SEP].")
    firsts = tokenizer.encode_batch(texts, add_specials=False)
    seconds = tokenizer.encode_batch(texts_b, add_specials=False) if texts_b is not None else None
    rows = []
    for i, a in enumerate(firsts):
        if seconds is None:
            ids = [tokenizer.cls_id, *a[:budget], tokenizer.sep_id]
            rows.append((ids, [0] * len(ids)))
        else:
            a, b = list(a), list(seconds[i])
            _truncate_ends(a, b, budget)
            rows.append(pack_pair(a, b, tokenizer.cls_id, tokenizer.sep_id))
    return pad_rows(rows, tokenizer.pad_id)


def _truncate_ends(a: list[int], b: list[int], budget: int) -> None:
    """Drop tokens from the end of the longer list until both fit in ``budget`` (in place)."""
    while len(a) + len(b) > budget:
        (a if len(a) > len(b) else b).pop()


def fine_tune(model: torch.nn.Module, data: Mapping[str, torch.Tensor], loss_fn: Callable, epochs: int = 3,
              batch_size: int = 16, lr: float = 5e-5, head_lr: float | None = None, min_steps: int = 0, seed: int = 0,
              freeze_embeddings: bool = False, device=None, desc: str = "fine-tune") -> History:
    """Train every parameter of ``model`` on ``data`` with BERT's recipe (appendix A.3).

    ``epochs`` passes of ``batch_size`` examples, or ``min_steps`` updates if that is more
    (a tiny label budget still gets enough updates); AdamW with weight decay 0.01, linear
    warm-up over 10% of the updates then linear decay. ``head_lr`` gives the new output layer
    (every parameter outside ``model.bert``) its own, larger learning rate: a freshly
    initialised layer learns slowly at the encoder's small one, which matters when a label is
    rare (tagging, where most tokens are ``O``). ``freeze_embeddings=True`` keeps the
    token-embedding table fixed (for a 30k-token vocabulary it is half of a small model's
    weights and, on a CPU, much of the time). Returns the training :class:`History`.
    """
    torch.manual_seed(seed)
    batches = TensorBatches(data, batch_size, seed=seed)
    steps = max(epochs * len(batches), min_steps)
    embedding = _token_embedding(model)
    if freeze_embeddings:
        embedding.requires_grad_(False)
    try:
        return fit(model, batches, loss_fn, steps=steps, optimizer=_optimizer(model, lr, head_lr), schedule="linear",
                   warmup=0.1, device=device, log_every=max(1, steps // 20), desc=desc)
    finally:
        embedding.requires_grad_(True)


def _optimizer(model: torch.nn.Module, lr: float, head_lr: float | None) -> torch.optim.AdamW:
    """AdamW (weight decay 0.01) over the trainable parameters; the head at ``head_lr`` if given."""
    body = {id(p) for p in getattr(model, "bert", model).parameters()}
    trainable = [p for p in model.parameters() if p.requires_grad]
    if head_lr is None:
        return torch.optim.AdamW(trainable, lr=lr, weight_decay=0.01)
    groups = [{"params": [p for p in trainable if id(p) in body], "lr": lr},
              {"params": [p for p in trainable if id(p) not in body], "lr": head_lr}]
    return torch.optim.AdamW([g for g in groups if g["params"]], weight_decay=0.01)


def _token_embedding(model: torch.nn.Module) -> torch.nn.Parameter:
    bert = getattr(model, "bert", model)
    try:
        return bert.transformer.tok.weight
    except AttributeError:
        raise ValueError(f"fine_tune needs a BERT or a BERT with a head, got {type(model).__name__}.") from None


def classification_accuracy(model: torch.nn.Module, data: Mapping[str, torch.Tensor], batch_size: int = 64) -> float:
    """Share of examples whose highest logit is ``data["labels"]`` (sentence or pair labels):
    :func:`ptm_lib.evaluate.accuracy` on the dict, in batches of ``batch_size``."""
    if "labels" not in data:
        raise ValueError("classification_accuracy needs data['labels'] (one class id per example).")
    return accuracy(model, data, batch_size=batch_size)


__all__ = ["encode_texts", "fine_tune", "classification_accuracy"]
