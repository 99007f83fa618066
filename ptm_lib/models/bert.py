"""Chapter 7's BERT: a Transformer *encoder*, pretrained to fill in masked words.

Devlin, Chang, Lee & Toutanova (2019), "BERT: Pre-training of Deep Bidirectional
Transformers for Language Understanding". BERT is the *same* stack of blocks as GPT
(:mod:`ptm_lib.models.transformer`, whose docstring tabulates every difference), and
:meth:`BERT.forward` reads like chapter 6's ``GPT.forward``: ``embed -> run_blocks -> head``.
It differs by the mask, by the input (segments and a LayerNorm on the embeddings), by the
heads, and by four settings of the stack (below):

* **the mask.** GPT hides the future (a causal mask) so it can be trained to predict the
  next word. BERT lets every token attend to every other real token (only padding is
  hidden, :func:`~ptm_lib.models.transformer.padding_mask`), so each output vector sees the
  whole sentence, left *and* right. Predicting the next word is then trivial, so BERT is
  trained on two other tasks (section 3.1): the *masked LM* (15% of the input tokens are
  corrupted and the model must recover them, :func:`ptm_lib.data.mlm.mask_for_mlm`) and
  *next sentence prediction* (is segment B the text that followed segment A?).
* **the input** (section 3, figure 2). A pair of segments is packed as
  ``[CLS] A [SEP] B [SEP]``, and each token's input vector is the sum of three embeddings::

      h_0 = LayerNorm(E_token[w_t] + E_position[t] + E_segment[s_t])     s_t = 0 for A, 1 for B
      h_l = Block_l(h_{l-1})        l = 1..L, post-norm blocks (Vaswani et al. 2017, section 3.1)

  BERT-base has ``L = 12``, ``H = 768``, ``A = 12`` heads; BERT-large 24/1024/16 (section 3).
* **the heads.** The pooler (``tanh(W h_L[CLS] + b)``, the vector ``C`` of figure 1)
  summarises the sequence for the NSP head and for sentence classifiers. The masked-LM head
  feeds the final vectors at the masked positions "into an output softmax over the
  vocabulary" (section 3.1); Google's ``run_pretraining.py`` spells it out as
  ``dense -> gelu -> LayerNorm`` and then an output layer that *reuses* the token-embedding
  matrix (tied, as in GPT) with its own bias. Fine-tuning (section 4) adds one small layer: on the pooled vector for a
  sentence (pair) label (section 4.1, GLUE), on every token for tagging (section 5.3, NER),
  or a start and an end score per token for extracting an answer span (section 4.2, SQuAD).
* **the settings of the stack** (:class:`BertConfig`'s defaults): post-norm blocks
  (``x = LN(x + f(x))``, Vaswani et al.'s layout, no final LayerNorm) where our GPT is
  pre-norm; the exact (erf) GELU, "following OpenAI GPT" (appendix A.2), where GPT-2 uses
  the tanh approximation; LayerNorm epsilon ``1e-12`` (Google's code) instead of ``1e-5``;
  and the initialisation (:meth:`BERT.reset_parameters`): every weight ~ N(0, 0.02) with
  zero biases, Google's ``initializer_range`` (the paper gives none), without GPT-2's
  ``1/sqrt(2 n_layers)`` scaling of the residual projections.

Names follow :class:`~ptm_lib.models.transformer.Transformer` (``tok``, ``pos``, ``blocks``)
so :func:`ptm_lib.pretrained.load_bert` can load the real checkpoints into :class:`BERT`. Shapes:
``B`` batch, ``T`` length, ``d`` width, ``H`` heads, ``V`` vocabulary. ``attention_mask`` is
``(B, T)`` with 1 for real tokens and 0 for padding; ``segments`` is ``(B, T)`` of 0/1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ptm_lib.data.vocab import check_ids
from ptm_lib.models.transformer import Transformer, TransformerConfig, activation, init_normal, padding_mask
from ptm_lib.train import IGNORE  # the label the masked-LM and token losses skip (-100); re-exported here

NSP_CLASSES = ("IsNext", "NotNext")
"""The two next-sentence classes in the order of the NSP head's logits (class 0 = B follows
A), as in Google's ``run_pretraining.py``, so the real checkpoints' heads load unchanged."""


ATTENTION = ("bidirectional", "left-to-right")
"""What each token of a :class:`BERT` may attend to: every token, or only those up to itself."""


@dataclass(frozen=True)
class BertConfig(TransformerConfig):
    """A :class:`TransformerConfig` with BERT's choices as defaults, plus the segment count.

    BERT's block is post-norm with the exact GELU (appendix A.2, following GPT) and
    LayerNorm epsilon ``1e-12``;
    ``type_vocab_size`` is the number of segment embeddings (2: A and B). BERT-base is
    ``BertConfig(30522, max_len=512, d_model=768, n_layers=12, n_heads=12, dropout=0.1)``.

    ``norm="pre"`` departs from the paper: LayerNorm at the input of each sub-layer and once
    after the stack (GPT-2's layout; Xiong et al. 2020 show it trains without the warm-up a
    post-norm stack needs). It is there for training our own small BERTs; the real
    checkpoints (:mod:`ptm_lib.pretrained`) are post-norm.

    ``attention="left-to-right"`` is not BERT at all: each token attends only to itself and
    the tokens before it, as in GPT. It is the control of chapter 7's experiment on what
    seeing both sides is worth: the same model, data and masks, blind to the right; and
    the "LTR" model of BERT's ablation (section 5.1, chapter 8). Such a model's ``[CLS]``
    sees nothing but itself, so its pooler reads the last real token instead
    (:meth:`BERT.pool`).
    """

    norm: str = "post"
    activation: str = "gelu"
    layer_norm_eps: float = 1e-12
    type_vocab_size: int = 2
    attention: str = "bidirectional"

    def __post_init__(self):
        super().__post_init__()
        if self.attention not in ATTENTION:
            raise ValueError(f"BertConfig.attention must be one of {ATTENTION} (BERT: 'bidirectional'), "
                             f"got {self.attention!r}.")
        if not isinstance(self.type_vocab_size, int) or self.type_vocab_size < 1:
            raise ValueError(f"BertConfig.type_vocab_size must be a positive integer (2 for segments A and B), "
                             f"got {self.type_vocab_size!r}.")


class BertOutput(NamedTuple):
    """What :meth:`BERT.forward` returns.

    ``hidden`` ``(B, T, d)``: the last layer's vectors, one per token; ``pooled`` ``(B, d)``:
    ``tanh(W hidden[:, 0] + b)``; ``hidden_states``: ``L + 1`` tensors ``(B, T, d)``, the
    embedding output then each layer's output (Hugging Face's ``output_hidden_states``);
    ``attentions``: ``L`` tensors ``(B, H, T, T)`` of attention probabilities, or empty
    unless ``need_weights=True``.
    """

    hidden: torch.Tensor
    pooled: torch.Tensor
    hidden_states: tuple[torch.Tensor, ...]
    attentions: tuple[torch.Tensor, ...]


class BERT(nn.Module):
    """The encoder: ``(B, T)`` ids (and segments, padding mask) -> :class:`BertOutput`."""

    def __init__(self, config: BertConfig):
        super().__init__()
        if not isinstance(config, BertConfig):
            raise ValueError(f"BERT needs a BertConfig (post-norm, segments), got {type(config).__name__}; "
                             "build one with BertConfig(vocab_size, ...).")
        self.config = config
        self.transformer = Transformer(config)  # tok, pos, drop and the post-norm blocks, shared with GPT
        self.segment = nn.Embedding(config.type_vocab_size, config.d_model)
        self.embed_norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.pooler = nn.Linear(config.d_model, config.d_model)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """BERT's initialisation: every weight ~ N(0, 0.02), biases 0, LayerNorms 1 and 0.

        The paper gives none; this is Google's code (``initializer_range = 0.02``; they draw
        from a normal truncated at two standard deviations, Hugging Face and we do not). The
        stack is redrawn with :meth:`Transformer.reset_parameters`'s ``"bert"`` scheme, which
        drops the GPT-2 scaling of the residual projections a new stack gets: that scaling
        suits a pre-norm stack, but in this post-norm one it shrinks what attention adds to
        each token, and a small BERT then took about twice as many steps to learn to use its
        context (masked LM on a copy-the-neighbour task: 0.62 accuracy after 1,200 steps,
        against 0.76 with this init). Then the segment table and the pooler.
        """
        self.transformer.reset_parameters("bert")
        init_normal(self.segment, self.pooler)

    def embed(self, ids: torch.Tensor, segments: torch.Tensor | None = None) -> torch.Tensor:
        """``h_0 = LayerNorm(tok + pos + segment)`` (section 3, figure 2): ``(B, T)`` -> ``(B, T, d)``.

        ``segments`` defaults to all zeros (one segment). Raises ``ValueError`` for a
        sequence longer than ``max_len`` or segment ids outside ``0..type_vocab_size-1``.
        """
        if segments is None:
            segments = torch.zeros_like(ids)
        elif segments.shape != ids.shape:
            raise ValueError(f"segments has shape {tuple(segments.shape)} but ids have {tuple(ids.shape)}; "
                             "give one segment id (0 for A, 1 for B) per token.")
        elif segments.numel() and (segments.min() < 0 or segments.max() >= self.config.type_vocab_size):
            raise ValueError(f"segment ids must lie in 0..{self.config.type_vocab_size - 1} (0 for A, 1 for B), "
                             f"got values {segments.min().item()}..{segments.max().item()}.")
        return self.embed_norm(self.transformer.embed(ids, extra=self.segment(segments)))

    def forward(self, ids: torch.Tensor, segments: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None, need_weights: bool = False) -> BertOutput:
        """Encode ``ids`` ``(B, T)``; see :class:`BertOutput`. Every token attends to every real
        token (no causal mask); ``attention_mask`` ``(B, T)`` hides padding. Raises ``ValueError``
        for token ids outside the vocabulary and for an empty sequence (the pooler reads the
        first token)."""
        _check_input(ids, self.config.vocab_size)
        mask = padding_mask(attention_mask, ids) if attention_mask is not None else None
        x = self.transformer.drop(self.embed(ids, segments))  # h_0 = LayerNorm(tok + pos + segment)
        left_only = self.config.attention == "left-to-right"  # the controls of chapters 7 and 8
        out = self.transformer.run_blocks(x, mask, need_weights, all_layers=True, causal=left_only)  # BERT: both sides
        return BertOutput(out.hidden, self.pool(out.hidden, attention_mask), tuple(out.hidden_states),
                          tuple(out.attentions))

    def pool(self, hidden: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """The pooler: ``tanh(W h[CLS] + b)``, ``(B, T, d)`` -> ``(B, d)`` (the vector ``C`` of figure 1).

        A left-to-right model (``config.attention``) reads the last real token instead (the
        last position whose ``attention_mask`` is 1, or the last position without a mask):
        the only one that has seen the whole input, as GPT's classifier does (Radford et al.
        2018, section 3.2)."""
        if self.config.attention != "left-to-right":
            return torch.tanh(self.pooler(hidden[:, 0]))
        last = (attention_mask.long().sum(1) - 1).clamp(min=0) if attention_mask is not None else \
            torch.full((hidden.shape[0],), hidden.shape[1] - 1, device=hidden.device)
        return torch.tanh(self.pooler(hidden[torch.arange(hidden.shape[0], device=hidden.device), last]))

    def num_parameters(self) -> int:
        """Number of trainable numbers."""
        return sum(p.numel() for p in self.parameters())


def _check_input(ids: torch.Tensor, vocab_size: int) -> None:
    """Integer ids in the vocabulary (checked before the segment table is read) and at least one token."""
    check_ids(ids, vocab_size)
    if ids.dim() == 2 and ids.shape[1] == 0:
        raise ValueError("ids hold no tokens (length 0), and BERT reads its summary from the first token; "
                         "encode at least [CLS] text [SEP], e.g. tokenizer.encode(text).")


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
    """The average of the real tokens' vectors, ``(B, T, d)`` -> ``(B, d)``: the sentence
    embedding of Sentence-BERT (Reimers & Gurevych 2019, section 3) and of MiniLM's
    ``all-MiniLM-L6-v2`` weights (:func:`ptm_lib.pretrained.load_minilm`)."""
    if attention_mask is None:
        return hidden.mean(1)
    if attention_mask.shape != hidden.shape[:2]:
        raise ValueError(f"attention_mask has shape {tuple(attention_mask.shape)} but hidden has "
                         f"{tuple(hidden.shape[:2])} tokens; pass the (B, T) mask of the batch the hidden states "
                         "came from.")
    weights = attention_mask.to(hidden.dtype)[..., None]  # (B, T, 1)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)


def _encoder(bert: BERT | BertConfig) -> BERT:
    """A head's encoder: the given :class:`BERT` (e.g. pretrained), or a new one from a config."""
    if isinstance(bert, BERT):
        return bert
    if isinstance(bert, BertConfig):
        return BERT(bert)
    raise ValueError(f"expected a BERT encoder or a BertConfig, got {type(bert).__name__}.")


# --- pretraining heads (section 3.1, appendix A.1) ---

class MaskedLMHead(nn.Module):
    """``logits = LayerNorm(gelu(h W + b)) E^T + bias``: ``(..., d)`` -> ``(..., V)``, with ``E``
    the token-embedding matrix (tied), as Hugging Face's ``BertLMPredictionHead``."""

    def __init__(self, config: BertConfig, embedding: nn.Embedding):
        super().__init__()
        self.dense = nn.Linear(config.d_model, config.d_model)
        self.act = activation(config.activation)
        self.norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.d_model, config.vocab_size)
        init_normal(self.dense, self.decoder)
        self.decoder.weight = embedding.weight  # tied: one V x d table for input and output

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.norm(self.act(self.dense(hidden))))


class BertForPretraining(nn.Module):
    """BERT with its two pretraining heads: masked LM (``mlm``) and next sentence (``nsp``).

    ``forward`` returns the masked-LM logits ``(B, T, V)`` for every position and the NSP
    logits ``(B, 2)`` (classes :data:`NSP_CLASSES`). Training scores only the masked
    positions: :func:`pretraining_loss` runs the ``V``-wide output layer on those 15% alone,
    as Google's ``run_pretraining.py`` does (it gathers ``masked_lm_positions``).
    """

    def __init__(self, bert: BERT | BertConfig):
        super().__init__()
        self.bert = _encoder(bert)
        self.config = self.bert.config
        self.mlm = MaskedLMHead(self.config, self.bert.transformer.tok)
        self.nsp = nn.Linear(self.config.d_model, 2)
        init_normal(self.nsp)

    def forward(self, ids: torch.Tensor, segments: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.bert(ids, segments, attention_mask)
        return self.mlm(out.hidden), self.nsp(out.pooled)


# --- fine-tuning heads (section 4) ---

class BiLSTMTop(nn.Module):
    """A randomly initialised bidirectional LSTM over the encoder's last layer, trained during
    fine-tuning only: the "+ BiLSTM" row of BERT's ablation (section 5.1, table 5), which
    gives a left-to-right model back a right-hand context. ``(B, T, d)`` -> ``(B, T, d)``
    (two directions of ``d // 2``; ``d`` must be even). With an ``attention_mask`` the
    padding is packed away, so the backward direction starts at each row's last real token."""

    def __init__(self, d_model: int):
        super().__init__()
        if d_model % 2:
            raise ValueError(f"BiLSTMTop splits d_model={d_model} between two directions; use an even width.")
        self.lstm = nn.LSTM(d_model, d_model // 2, batch_first=True, bidirectional=True)

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        if attention_mask is None:
            return self.lstm(hidden)[0]
        lengths = attention_mask.long().sum(1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(hidden, lengths, batch_first=True, enforce_sorted=False)
        return nn.utils.rnn.pad_packed_sequence(self.lstm(packed)[0], batch_first=True,
                                                total_length=hidden.shape[1])[0]


class _FineTuningHead(nn.Module):
    """A fine-tuning model's encoder and, with ``bilstm_top=True``, a :class:`BiLSTMTop` that
    its output layer reads instead of the encoder's last layer. The top is outside ``bert``,
    so :func:`ptm_lib.finetune.bert.fine_tune` trains it at the new layer's learning rate."""

    def __init__(self, bert: BERT | BertConfig, bilstm_top: bool = False):
        super().__init__()
        self.bert = _encoder(bert)
        self.config = self.bert.config
        self.top = BiLSTMTop(self.config.d_model) if bilstm_top else None

    def encode(self, ids, segments=None, attention_mask=None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(hidden, summary)``: every token's vector ``(B, T, d)`` and the sequence's ``(B, d)``:
        the pooled vector ``C``, or with the BiLSTM top its output at ``[CLS]`` (whose backward
        half has read the whole input)."""
        out = self.bert(ids, segments, attention_mask)
        if self.top is None:
            return out.hidden, out.pooled
        hidden = self.top(out.hidden, attention_mask)
        return hidden, hidden[:, 0]


class _BertWithLinearHead(_FineTuningHead):
    """BERT plus dropout and one linear layer with ``num_labels`` outputs (the two heads below)."""

    def __init__(self, bert: BERT | BertConfig, num_labels: int, dropout: float | None = None,
                 bilstm_top: bool = False):
        super().__init__(bert, bilstm_top)
        self.num_labels = _positive(num_labels, "num_labels")
        self.drop = nn.Dropout(self.config.dropout if dropout is None else dropout)
        self.classifier = nn.Linear(self.config.d_model, num_labels)
        init_normal(self.classifier)

    def extra_args(self) -> dict:
        """The constructor's arguments beyond the encoder, which :func:`ptm_lib.checkpoints.save` stores."""
        return {"num_labels": self.num_labels, "dropout": self.drop.p, "bilstm_top": self.top is not None}


class BertForSequenceClassification(_BertWithLinearHead):
    """Section 4.1: ``logits = dropout(C) W^T + b`` on the pooled ``[CLS]`` vector ``C``;
    ``(B, T)`` ids -> ``(B, num_labels)``. For one sentence or a pair (``segments``)."""

    def forward(self, ids, segments=None, attention_mask=None) -> torch.Tensor:
        return self.classifier(self.drop(self.encode(ids, segments, attention_mask)[1]))


class BertForTokenClassification(_BertWithLinearHead):
    """Section 5.3 (NER): one label per token from its last hidden vector;
    ``(B, T)`` ids -> ``(B, T, num_labels)``."""

    def forward(self, ids, segments=None, attention_mask=None) -> torch.Tensor:
        return self.classifier(self.drop(self.encode(ids, segments, attention_mask)[0]))


class BertForSpanExtraction(_FineTuningHead):
    """Section 4.2 (SQuAD): a start vector ``S`` and an end vector ``E`` score every token,
    ``start_i = S . T_i`` and ``end_i = E . T_i``; ``(B, T)`` ids -> two ``(B, T)`` tensors of
    logits. Padding positions get ``-inf`` so they are never chosen. The answer is the span
    ``i <= j`` maximising ``start_i + end_j`` (:func:`best_span`)."""

    def __init__(self, bert: BERT | BertConfig, bilstm_top: bool = False):
        super().__init__(bert, bilstm_top)
        self.span = nn.Linear(self.config.d_model, 2)  # rows S and E
        init_normal(self.span)

    def extra_args(self) -> dict:
        """The constructor's arguments beyond the encoder, which :func:`ptm_lib.checkpoints.save` stores."""
        return {"bilstm_top": self.top is not None}

    def forward(self, ids, segments=None, attention_mask=None) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.span(self.encode(ids, segments, attention_mask)[0])  # (B, T, 2)
        if attention_mask is not None:
            logits = logits.masked_fill(~attention_mask.bool()[..., None], float("-inf"))
        start, end = logits.unbind(-1)
        return start, end


def best_span(start: torch.Tensor, end: torch.Tensor, max_length: int | None = None) -> torch.Tensor:
    """For each row, the ``(i, j)`` with ``i <= j`` (and ``j - i < max_length``) maximising
    ``start[i] + end[j]`` (section 4.2): ``(B, T)``, ``(B, T)`` -> ``(B, 2)`` long."""
    if start.dim() != 2 or start.shape != end.shape:
        raise ValueError(f"start and end must be (B, T) logits of the same shape, got {tuple(start.shape)} and "
                         f"{tuple(end.shape)}; pass the two outputs of BertForSpanExtraction.")
    T = start.shape[-1]
    scores = start[:, :, None] + end[:, None, :]  # (B, T, T): row i = start, column j = end
    allowed = torch.ones(T, T, dtype=torch.bool, device=start.device).triu()
    if max_length is not None:
        allowed &= ~torch.ones(T, T, dtype=torch.bool, device=start.device).triu(max_length)
    flat = scores.masked_fill(~allowed, float("-inf")).flatten(1).argmax(1)
    return torch.stack([flat // T, flat % T], dim=1)


def _positive(value: int, name: str) -> int:
    if not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return value


# --- losses for ptm_lib.train.fit ---

def _take(batch: Mapping, *keys: str) -> list:
    if not isinstance(batch, Mapping):
        raise ValueError(f"this loss needs a dict batch with keys {keys}, got {type(batch).__name__}; build it "
                         "with ptm_lib.data.mlm.pretraining_batch or a collate function returning a dict.")
    missing = [k for k in keys if k not in batch]
    if missing:
        raise ValueError(f"the batch lacks {missing}; it has {sorted(batch)}.")
    return [batch[k] for k in keys]


def _inputs(batch: Mapping) -> tuple:
    """``(ids, segments, attention_mask)`` of a dict batch; the last two are optional."""
    (ids,) = _take(batch, "ids")
    return ids, batch.get("segments"), batch.get("attention_mask")


def mlm_loss(model: BertForPretraining, batch: Mapping) -> torch.Tensor:
    """Masked-LM cross-entropy (nats per masked token), scoring only the positions whose
    ``batch["labels"]`` is not -100: the output layer runs on those rows alone."""
    (labels,) = _take(batch, "labels")
    out = model.bert(*_inputs(batch))
    return _masked_lm_loss(model, out.hidden, labels)


def _masked_lm_loss(model: BertForPretraining, hidden: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    chosen = labels != IGNORE  # (B, T)
    if not chosen.any():
        raise ValueError("no position of the batch is masked (every label is -100), so the masked-LM loss is "
                         "undefined; mask the batch with ptm_lib.data.mlm.mask_for_mlm.")
    targets = labels[chosen]
    check_ids(targets, model.config.vocab_size, "masked-LM labels",
              "labels are the original token ids (or -100 where nothing is masked): build them with "
              "ptm_lib.data.mlm.mask_for_mlm and the model's tokenizer")
    logits = model.mlm(hidden[chosen])  # (N, V) for the N chosen positions only
    return F.cross_entropy(logits.float(), targets)


def pretraining_loss(model: BertForPretraining, batch: Mapping) -> torch.Tensor:
    """BERT's pretraining loss (section 3.1, appendix A.2): masked-LM cross-entropy plus
    next-sentence cross-entropy. ``batch`` is a dict with ``ids``, ``segments``,
    ``attention_mask``, ``labels`` (the original id at masked positions, -100 elsewhere) and
    ``is_next`` (1 if B follows A), as :func:`ptm_lib.data.mlm.pretraining_batch` builds it."""
    labels, is_next = _take(batch, "labels", "is_next")
    out = model.bert(*_inputs(batch))
    nsp_target = 1 - is_next.long()  # class 0 = IsNext (NSP_CLASSES)
    return _masked_lm_loss(model, out.hidden, labels) + F.cross_entropy(model.nsp(out.pooled).float(), nsp_target)


def _check_labels(labels: torch.Tensor, num_labels: int, ignore: int | None = None) -> None:
    check_ids(labels, num_labels, "labels", f"use class ids 0..{num_labels - 1}, or build the head with "
              "num_labels = the number of classes", ignore=ignore, within="the classes", unit="labels in this head")


def sequence_classification_loss(model: BertForSequenceClassification, batch: Mapping) -> torch.Tensor:
    """Cross-entropy of the sentence (pair) labels ``batch["labels"]`` ``(B,)``."""
    (labels,) = _take(batch, "labels")
    _check_labels(labels, model.num_labels)
    return F.cross_entropy(model(*_inputs(batch)).float(), labels)


def token_classification_loss(model: BertForTokenClassification, batch: Mapping) -> torch.Tensor:
    """Cross-entropy of per-token labels ``batch["labels"]`` ``(B, T)``; -100 (padding, or the
    later pieces of a word, section 5.3) is skipped."""
    (labels,) = _take(batch, "labels")
    _check_labels(labels, model.num_labels, ignore=IGNORE)
    logits = model(*_inputs(batch))
    return F.cross_entropy(logits.float().flatten(0, 1), labels.reshape(-1), ignore_index=IGNORE)


def span_loss(model: BertForSpanExtraction, batch: Mapping) -> torch.Tensor:
    """Section 4.2: the mean of the start and end cross-entropies of the answer's first and
    last token positions ``batch["start"]``, ``batch["end"]`` ``(B,)``."""
    start, end = _take(batch, "start", "end")
    inputs = _inputs(batch)
    for name, positions in (("start", start), ("end", end)):
        check_ids(positions, inputs[0].shape[-1], f"batch[{name!r}] positions", "give the answer's token positions "
                  "within the batch's ids, as ptm_lib.data.spans.encode_spans builds them", within="the positions",
                  unit="tokens")
    start_logits, end_logits = model(*inputs)
    return (F.cross_entropy(start_logits.float(), start) + F.cross_entropy(end_logits.float(), end)) / 2


__all__ = ["ATTENTION", "BertConfig", "BertOutput", "BERT", "MaskedLMHead", "BertForPretraining", "BiLSTMTop",
           "BertForSequenceClassification", "BertForTokenClassification", "BertForSpanExtraction", "NSP_CLASSES",
           "IGNORE", "mean_pool", "best_span", "mlm_loss", "pretraining_loss", "sequence_classification_loss",
           "token_classification_loss", "span_loss"]
