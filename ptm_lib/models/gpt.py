"""Chapter 6's GPT: a Transformer decoder trained as a language model.

Radford, Narasimhan, Salimans & Sutskever (2018), "Improving Language Understanding by
Generative Pre-Training", section 3.1: maximise ``sum_t log P(u_t | u_{t-k}, ..., u_{t-1})``
with

    h_0 = U W_e + W_p                       token + position embeddings
    h_l = transformer_block(h_{l-1})        l = 1..n, with a *causal* mask
    P(u) = softmax(h_n W_e^T)               the output layer reuses W_e (tied weights)

It is :class:`~ptm_lib.models.transformer.Transformer` run with the causal mask
(``causal=True``) plus a language-model head whose weight *is* the token-embedding matrix
(Press & Wolf 2017), so the model has one ``V x d`` table, not two; :meth:`GPT.forward` reads
``embed -> run_blocks -> head`` like chapter 7's ``BERT.forward``. We use GPT-2's layout
(Radford et al. 2019, section 2.3: pre-norm blocks, a final LayerNorm, ``gelu_new``,
LayerNorm eps ``1e-5``, residual projections initialised with std ``0.02 / sqrt(2 n_layers)``:
the defaults of :class:`~ptm_lib.models.transformer.TransformerConfig` and
:meth:`~ptm_lib.models.transformer.Transformer.reset_parameters`) so that
:func:`ptm_lib.pretrained.load_gpt2` loads the real GPT-2 weights into this very class; GPT-1
itself was post-norm (``TransformerConfig(norm="post")`` builds that). Everything that
differs from BERT is listed in :mod:`ptm_lib.models.transformer`.

:meth:`GPT.generate` samples a continuation one token at a time (temperature, top-k, with
:func:`ptm_lib.data.lm.sample`, which chapter 2's NNLM uses too) or greedily; it recomputes
the whole context at every step (no key/value cache), which is simple and fast enough for
the book's short contexts.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ptm_lib.data.lm import check_sampling_args, sample
from ptm_lib.models.transformer import Transformer, TransformerConfig, padding_mask
from ptm_lib.train import evaluating


class GPT(nn.Module):
    """A decoder-only Transformer LM: ``(B, T)`` ids -> next-token logits ``(B, T, V)``."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.config = config
        self.transformer = Transformer(config)  # embeddings, blocks, ln_f; GPT-2's initialisation
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.lm_head.weight = self.transformer.tok.weight  # tied: P(u) = softmax(h W_e^T)

    def hidden(self, ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
               need_weights: bool = False) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Hidden states ``(B, T, d)`` under the causal mask (and the padding mask from
        ``attention_mask`` ``(B, T)``, 1 = real token; pad on the right), and the per-layer
        attention probabilities ``(B, H, T, T)`` if ``need_weights``."""
        mask = padding_mask(attention_mask, ids) if attention_mask is not None else None
        return self.transformer(ids, mask, need_weights=need_weights, causal=True)  # causal_mask & mask

    def forward(self, ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``(B, T, V)``: position ``t`` scores the token that follows ``ids[:, t]``."""
        mask = padding_mask(attention_mask, ids) if attention_mask is not None else None
        x = self.transformer.drop(self.transformer.embed(ids))  # h_0 = U W_e + W_p
        out = self.transformer.run_blocks(x, mask, causal=True)  # each position sees only its past
        return self.lm_head(out.hidden)  # h_n W_e^T (tied)

    def generate(self, ids: torch.Tensor, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 greedy: bool = False, generator: torch.Generator | None = None) -> torch.Tensor:
        """Append ``max_new_tokens`` sampled tokens to ``ids`` ``(B, T)``; returns ``(B, T + max_new_tokens)``.

        Each step feeds the last ``max_len`` tokens (older context is cropped), divides the
        last position's logits by ``temperature``, keeps the ``top_k`` most likely tokens
        (if given) and samples from the softmax with ``generator`` (a ``torch.Generator``
        on the model's device, for reproducible samples). ``greedy=True`` (or
        ``temperature=0``, the limit) takes the most likely token instead. Runs in eval
        mode and restores the previous mode.
        """
        self._check_generate_args(ids, max_new_tokens, temperature, top_k)
        greedy = greedy or temperature == 0
        with evaluating(self):
            for _ in range(max_new_tokens):
                logits = self(ids[:, -self.config.max_len:])[:, -1, :].float()  # (B, V)
                next_id = logits.argmax(-1, keepdim=True) if greedy else sample(logits, temperature, top_k, generator)
                ids = torch.cat([ids, next_id], dim=1)
        return ids

    def _check_generate_args(self, ids, max_new_tokens, temperature, top_k) -> None:
        if not isinstance(ids, torch.Tensor) or ids.dim() != 2 or ids.dtype != torch.long:
            raise ValueError("generate() needs ids as a (batch, length) LongTensor; use torch.tensor([ids]) "
                             "for one prompt.")
        if ids.shape[1] == 0:
            raise ValueError("generate() needs at least one prompt token (e.g. the start token <s>).")
        check_sampling_args(max_new_tokens, temperature, top_k, zero_is_greedy=True)

    def num_parameters(self) -> int:
        """Number of trainable numbers; the tied embedding/head matrix counts once."""
        return sum(p.numel() for p in self.parameters())


def lm_loss(model: GPT, batch: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy (nats per token) of a ``(B, T+1)`` batch of ids.

    The model reads ``batch[:, :-1]`` and is scored on ``batch[:, 1:]`` (Radford et al.
    2018, Eq. 1). Logits go to float32 once, so the loss is exact under bf16 autocast.
    This is the ``loss_fn`` for :func:`ptm_lib.train.fit`.
    """
    if batch.dim() != 2 or batch.shape[1] < 2:
        raise ValueError(f"lm_loss needs a (batch, length + 1) tensor of ids with length >= 1, "
                         f"got shape {tuple(batch.shape)}.")
    inputs, targets = batch[:, :-1], batch[:, 1:]
    logits = model(inputs)
    return F.cross_entropy(logits.float().flatten(0, 1), targets.reshape(-1))


__all__ = ["GPT", "lm_loss", "sample"]
