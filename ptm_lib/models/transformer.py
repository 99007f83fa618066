"""The Transformer block stack that GPT (chapter 6) and BERT (chapter 7) share.

Vaswani et al. (2017), "Attention Is All You Need", section 3. One layer ("block") is

    a = MultiHead(x) = Concat(head_1, ..., head_h) W^O                  (section 3.2.2)
    head_i = softmax(Q_i K_i^T / sqrt(d_k) + M) V_i,  Q_i = x W^Q_i ... (Eq. 1)
    FFN(x) = act(x W_1 + b_1) W_2 + b_2                                 (Eq. 2)

with a residual connection and a LayerNorm (Ba et al. 2016) around each of the two
sub-layers. ``M`` is the *mask*: 0 where query ``i`` may look at key ``j`` and ``-inf``
where it may not. Both models of the book are this one :class:`Transformer` (the same
:class:`Block` class, the same ``embed -> run_blocks`` path) wrapped with their own input
additions and heads; what differs between them, and where it is chosen:

================  ======================================  ======================================
                  GPT (:mod:`~ptm_lib.models.gpt`)        BERT (:mod:`~ptm_lib.models.bert`)
================  ======================================  ======================================
mask              causal, ``j <= i`` (``causal=True``,    padding only (:func:`padding_mask`):
                  :func:`causal_mask`): a decoder, no     an encoder, every token sees every
                  position sees a later word              real token, left and right
norm placement    ``"pre"`` + final ``ln_f`` (GPT-2,      ``"post"`` (Vaswani et al. section
                  Radford et al. 2019 section 2.3; GPT-1  3.1, kept by Devlin et al.), no
                  itself was post-norm)                   ``ln_f``
activation        ``"gelu_tanh"`` (GPT-2's ``gelu_new``;  ``"gelu"``, the exact erf form
                  GPT-1 section 4.1 uses GELU)            (appendix A.2: "following OpenAI GPT")
LayerNorm eps     ``1e-5`` (GPT-2)                        ``1e-12`` (Google's BERT)
initialisation    ``"gpt2"``: N(0, 0.02), residual        ``"bert"``: N(0, 0.02) everywhere
                  projections ``/ sqrt(2 n_layers)``      (Google's ``initializer_range``)
embeddings        token + learned position                token + learned position + segment
                                                          (A/B), then a LayerNorm (figure 2)
heads             LM head tied to the token embeddings    pooler ``tanh(W h[CLS] + b)``; masked-LM
                  (no bias)                               head (dense, gelu, LayerNorm, tied
                                                          decoder + bias) and NSP on the pooler
================  ======================================  ======================================

The mask is an argument of :meth:`Transformer.run_blocks`; norm placement, activation and
eps are fields of :class:`TransformerConfig` (BERT's values are the defaults of
:class:`~ptm_lib.models.bert.BertConfig`); the initialisation is the ``scheme`` of
:meth:`Transformer.reset_parameters` (``"bert"`` is also GPT-1's, Radford et al. 2018
section 4.1); the extra embeddings and the heads live in the model that wraps the stack.
The rest is the same in both: learned positions, ``d_ff = 4 d_model``, and dropout on the
embeddings, the attention probabilities and both residual branches.

Where the LayerNorm sits (``TransformerConfig.norm``):

* ``"post"`` -- the original Transformer (section 3.1), GPT-1 and BERT: ``x = LN(x + f(x))``.
  The residual stream is re-normalised after every sub-layer; deep stacks need a
  learning-rate warm-up to train (Xiong et al. 2020). Kept so chapter 7 can load the real
  BERT weights, which are post-LN.
* ``"pre"`` (default) -- GPT-2 (Radford et al. 2019, section 2.3): ``x = x + f(LN(x))``
  and one final LayerNorm ``ln_f``. The residual path is an identity from input to
  output, which keeps gradients well scaled; it trains without warm-up tricks, and it is
  what lets :func:`ptm_lib.pretrained.load_gpt2` load the real GPT-2 weights.

Positions (section 3.5): either a learned ``max_len x d_model`` table (GPT, GPT-2, BERT)
or the fixed sinusoids ``PE(p, 2i) = sin(p / 10000^(2i/d))``, ``PE(p, 2i+1) = cos(...)``.
With sinusoids, token embeddings are multiplied by ``sqrt(d_model)`` as in Vaswani et al.
(section 3.4), so that the unit-amplitude sinusoids do not drown the words; learned
positions (GPT-2, BERT) add the two tables as they are.

Shapes: ``B`` batch, ``T`` sequence length, ``d`` = ``d_model``, ``H`` heads,
``d_k = d / H``. Masks are booleans with **True = may attend**, broadcastable to
``(B, H, T, T)``. ``causal=True`` (what GPT passes) applies the causal mask inside the
attention instead, so PyTorch's fused kernels can skip the hidden half of ``Q K^T``.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ..data.vocab import check_ids

NORMS = ("pre", "post")
POSITIONS = ("learned", "sinusoidal")
ACTIVATIONS = ("gelu_tanh", "gelu", "relu")
INIT_SCHEMES = ("gpt2", "bert")
INIT_STD = 0.02
"""The standard deviation of every weight at initialisation: GPT-1's N(0, 0.02) (Radford et
al. 2018, section 4.1), GPT-2's and Google's BERT ``initializer_range``."""


@dataclass(frozen=True)
class TransformerConfig:
    """Sizes and choices of a :class:`Transformer` (defaults: the book's CPU preset).

    ``max_len`` is the longest sequence (GPT-2's ``n_positions``); ``d_ff`` the width of
    the feed-forward layer (``None`` means ``4 * d_model``, as in all three papers);
    ``activation`` is ``"gelu_tanh"`` (GPT-2's ``gelu_new``), ``"gelu"`` (exact, BERT) or
    ``"relu"`` (Vaswani et al.); ``dropout`` applies to embeddings, attention
    probabilities and both residual branches.
    """

    vocab_size: int
    max_len: int = 128
    d_model: int = 128
    n_layers: int = 2
    n_heads: int = 4
    d_ff: int | None = None
    dropout: float = 0.0
    norm: str = "pre"
    positions: str = "learned"
    activation: str = "gelu_tanh"
    layer_norm_eps: float = 1e-5

    def __post_init__(self):
        for name in ("vocab_size", "max_len", "d_model", "n_layers", "n_heads"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"TransformerConfig.{name} must be a positive integer, got {value!r}.")
        if self.d_ff is not None and (not isinstance(self.d_ff, int) or self.d_ff < 1):
            raise ValueError(
                f"TransformerConfig.d_ff must be a positive integer or None (4 * d_model), got {self.d_ff!r}.")
        if self.d_model % self.n_heads:
            raise ValueError(
                f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}: each head gets "
                "d_model / n_heads dimensions; choose n_heads among the divisors of d_model."
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"TransformerConfig.dropout must lie in [0, 1), got {self.dropout}.")
        if self.layer_norm_eps <= 0:
            raise ValueError(f"TransformerConfig.layer_norm_eps must be positive, got {self.layer_norm_eps}.")
        for name, allowed in (("norm", NORMS), ("positions", POSITIONS), ("activation", ACTIVATIONS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"TransformerConfig.{name}={getattr(self, name)!r}; use one of {allowed}.")

    @property
    def ff_width(self) -> int:
        """The feed-forward width actually used: ``d_ff`` or ``4 * d_model``."""
        return self.d_ff if self.d_ff is not None else 4 * self.d_model


# --- masks and positions ---

def causal_mask(length: int, device=None) -> torch.Tensor:
    """GPT's mask: query ``i`` may attend to key ``j`` iff ``j <= i``; bool ``(1, 1, T, T)``."""
    return torch.ones(length, length, dtype=torch.bool, device=device).tril()[None, None]


def padding_mask(attention_mask: torch.Tensor, ids: torch.Tensor | None = None) -> torch.Tensor:
    """Hide padding keys: ``(B, T)`` of 1/0 (or bool, 1 = real token) -> bool ``(B, 1, 1, T)``.

    Padded *queries* still get an output (ignore it); no real token ever attends to them.
    Given the ``ids`` it masks, the mask must have their shape.
    """
    if ids is not None and attention_mask.shape != ids.shape:
        raise ValueError(f"attention_mask has shape {tuple(attention_mask.shape)} but ids have "
                         f"{tuple(ids.shape)}; give one 1/0 per token (1 = real token, 0 = padding).")
    if attention_mask.dim() != 2:
        raise ValueError(
            f"attention_mask must have shape (batch, length) with 1 for real tokens and 0 for padding, "
            f"got shape {tuple(attention_mask.shape)}."
        )
    return attention_mask.bool()[:, None, None, :]


def sinusoidal_positions(length: int, d_model: int) -> torch.Tensor:
    """Vaswani et al. (2017), section 3.5: ``(T, d_model)`` with ``PE[p, 2i] = sin(p / 10000^(2i/d))``
    and ``PE[p, 2i+1] = cos(p / 10000^(2i/d))``."""
    position = torch.arange(length, dtype=torch.float32)[:, None]  # (T, 1)
    inv_freq = torch.exp(-math.log(10000.0) * torch.arange(0, d_model, 2, dtype=torch.float32) / d_model)
    angles = position * inv_freq  # (T, ceil(d/2))
    pe = torch.zeros(length, d_model)
    pe[:, 0::2] = torch.sin(angles)
    pe[:, 1::2] = torch.cos(angles[:, : d_model // 2])
    return pe


# --- the two sub-layers ---

class MultiHeadAttention(nn.Module):
    """Scaled dot-product attention in ``H`` heads (Vaswani et al. 2017, section 3.2).

    ``qkv`` computes Q, K and V for all heads in one matrix multiply (``d -> 3d``, in that
    order, as GPT-2's ``c_attn``); ``proj`` is ``W^O``.
    """

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}; choose a divisor.")
        self.n_heads, self.d_head, self.dropout = n_heads, d_model // n_heads, dropout
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.attn_drop = nn.Dropout(dropout)

    def split_heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(B, T, d)`` -> q, k, v, each ``(B, H, T, d_k)``."""
        B, T, _ = x.shape
        return self.qkv(x).view(B, T, 3, self.n_heads, self.d_head).permute(2, 0, 3, 1, 4).unbind(0)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, need_weights: bool = False,
                causal: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``x (B, T, d)`` -> ``(B, T, d)`` and, if ``need_weights``, the probabilities ``(B, H, T, T)``.

        ``causal=True`` adds :func:`causal_mask` to ``mask`` (GPT). Without weights this
        calls PyTorch's fused ``scaled_dot_product_attention`` (flash or memory-efficient
        kernels that never materialise the ``T x T`` matrix; with ``causal`` and no other
        mask it uses ``is_causal=True``, which the flash kernels need); with weights it
        spells out ``softmax(Q K^T / sqrt(d_k))`` so the book can plot the attention. Both
        give the same output; a query with no visible key outputs zeros.
        """
        B, T, d = x.shape
        if mask is not None and mask.dtype != torch.bool:
            raise ValueError(f"mask must be boolean (True = may attend), got {mask.dtype}; build it with "
                             "causal_mask() and/or padding_mask().")
        q, k, v = self.split_heads(x)
        if causal and (mask is not None or need_weights):
            mask = causal_mask(T, x.device) if mask is None else mask & causal_mask(T, x.device)
            causal = False
        if need_weights:
            out, probs = self.explicit_attention(q, k, v, mask)
        else:
            p = self.dropout if self.training else 0.0
            out, probs = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p, is_causal=causal), None
        return self.proj(out.transpose(1, 2).reshape(B, T, d)), probs

    def explicit_attention(self, q, k, v, mask=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Eq. 1 written out: returns ``softmax(Q K^T / sqrt(d_k)) V`` ``(B, H, T, d_k)`` and
        the probabilities ``(B, H, T, T)`` (before dropout), exactly 0 where masked."""
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.d_head))  # (B, H, T, T)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        probs = torch.softmax(scores.float(), dim=-1).nan_to_num(0.0).to(v.dtype)  # all-masked rows -> 0
        return self.attn_drop(probs) @ v, probs


def activation(name: str) -> nn.Module:
    """The feed-forward non-linearity ``act`` of Eq. 2 named ``name``, a new module:

    * ``"gelu_tanh"``: GELU (Hendrycks & Gimpel 2016) in its tanh approximation,
      ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``: GPT-2's ``gelu_new``, the book's GPT's;
    * ``"gelu"``: the exact GELU ``x Phi(x)`` (erf form): BERT's;
    * ``"relu"``: ``max(0, x)``, Vaswani et al. (2017).

    The BERT masked-LM head uses it too (its ``dense -> act -> LayerNorm``).
    """
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; use one of {ACTIVATIONS}.")
    if name == "gelu_tanh":
        return nn.GELU(approximate="tanh")
    return nn.GELU() if name == "gelu" else nn.ReLU()


class Block(nn.Module):
    """One Transformer layer: attention then feed-forward, each with residual and LayerNorm.

    ``norm="pre"``:  ``x = x + drop(attn(ln1(x)))``; ``x = x + drop(mlp(ln2(x)))``  (GPT-2)
    ``norm="post"``: ``x = ln1(x + drop(attn(x)))``; ``x = ln2(x + drop(mlp(x)))``  (BERT)
    """

    def __init__(self, config: TransformerConfig):
        super().__init__()
        d = config.d_model
        self.pre_norm = config.norm == "pre"
        self.ln1 = nn.LayerNorm(d, eps=config.layer_norm_eps)
        self.attn = MultiHeadAttention(d, config.n_heads, config.dropout)
        self.ln2 = nn.LayerNorm(d, eps=config.layer_norm_eps)
        self.mlp = nn.Sequential(OrderedDict(
            fc=nn.Linear(d, config.ff_width), act=activation(config.activation), proj=nn.Linear(config.ff_width, d)))
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, need_weights: bool = False,
                causal: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(B, T, d)`` -> ``(B, T, d)``, and the attention probabilities if ``need_weights``."""
        if self.pre_norm:
            a, probs = self.attn(self.ln1(x), mask, need_weights, causal)
            x = x + self.drop(a)
            return x + self.drop(self.mlp(self.ln2(x))), probs
        a, probs = self.attn(x, mask, need_weights, causal)
        x = self.ln1(x + self.drop(a))
        return self.ln2(x + self.drop(self.mlp(x))), probs


# --- the stack ---

def init_normal(*modules: nn.Module, std: float = INIT_STD) -> None:
    """Draw every ``Linear`` and ``Embedding`` weight inside ``modules`` from N(0, ``std``) and
    zero the ``Linear`` biases (LayerNorms keep their 1 and 0), in ``modules()`` order."""
    for module in modules:
        for sub in module.modules():
            if isinstance(sub, (nn.Linear, nn.Embedding)):
                nn.init.normal_(sub.weight, std=std)
            if isinstance(sub, nn.Linear) and sub.bias is not None:
                nn.init.zeros_(sub.bias)


class BlocksOutput(NamedTuple):
    """What :meth:`Transformer.run_blocks` returns.

    ``hidden`` ``(B, T, d)``: the output of the stack (after ``ln_f`` when pre-norm);
    ``attentions``: one ``(B, H, T, T)`` tensor of probabilities per layer if
    ``need_weights``, else empty; ``hidden_states``: if ``all_layers``, the ``n_layers + 1``
    tensors ``(B, T, d)`` the stack went through, its input and then each block's output,
    the last one taken after ``ln_f`` so that it is ``hidden`` (Hugging Face's
    ``output_hidden_states``), else empty.
    """

    hidden: torch.Tensor
    attentions: list[torch.Tensor]
    hidden_states: list[torch.Tensor]


class Transformer(nn.Module):
    """Embeddings, ``n_layers`` blocks and (pre-norm) a final LayerNorm: ids -> hidden states.

    The heads (GPT's tied language-model head, BERT's masked-LM and classifier heads) live
    in the models that wrap this stack, and every model's ``forward`` reads the same way:
    ``embed`` (token + position), dropout, ``run_blocks`` (with the model's mask), head.
    ``embed`` and ``run_blocks`` are separate so that BERT can add its segment embeddings
    (``extra``) and its embedding LayerNorm in between.

    A new stack is initialised with GPT-2's scheme (:meth:`reset_parameters`); a model
    that wants another one calls ``reset_parameters(scheme)`` on it (BERT does).
    """

    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.config = config
        self.tok = nn.Embedding(config.vocab_size, config.d_model)
        if config.positions == "learned":
            self.pos = nn.Embedding(config.max_len, config.d_model)
        else:
            self.register_buffer("pos", sinusoidal_positions(config.max_len, config.d_model), persistent=False)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps) if config.norm == "pre" else None
        self.reset_parameters()

    def reset_parameters(self, scheme: str = "gpt2") -> None:
        """Initialise the stack's weights (LayerNorms keep 1 and 0) with one of :data:`INIT_SCHEMES`:

        * ``"gpt2"`` (what a new stack gets; GPT's): every weight ~ N(0, 0.02) and biases 0,
          then the two projections that write into the residual stream (``attn.proj``,
          ``mlp.proj``) redrawn with std ``0.02 / sqrt(2 n_layers)``: Radford et al. (2019),
          section 2.3, "scale the weights of residual layers at initialization by a factor
          of 1/sqrt(N) where N is the number of residual layers" (two per block).
        * ``"bert"`` (BERT's): every weight ~ N(0, 0.02), biases 0, no scaling. The paper
          gives no initialisation; this is Google's code (``initializer_range = 0.02``,
          drawn there from a normal truncated at two standard deviations, here untruncated
          as in Hugging Face's ``BertModel``), and GPT-1's N(0, 0.02) (Radford et al. 2018,
          section 4.1).
        """
        if scheme not in INIT_SCHEMES:
            raise ValueError(f"unknown initialisation scheme {scheme!r}; use one of {INIT_SCHEMES}.")
        init_normal(self)
        if scheme == "gpt2":
            for block in self.blocks:
                for proj in (block.attn.proj, block.mlp.proj):
                    nn.init.normal_(proj.weight, std=INIT_STD / math.sqrt(2 * self.config.n_layers))

    def positions(self, length: int) -> torch.Tensor:
        """Position vectors for ``0..length-1``, ``(T, d)``."""
        if isinstance(self.pos, nn.Embedding):
            return self.pos.weight[:length]
        return self.pos[:length]

    def embed(self, ids: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        """``tok(ids) + pos(0..T-1) (+ extra)``: ``(B, T)`` ids -> ``(B, T, d)`` (no dropout yet);
        ``tok(ids)`` is scaled by ``sqrt(d_model)`` when the positions are sinusoidal. Ids must
        be integers in ``0 .. vocab_size - 1`` (:func:`check_ids`)."""
        if ids.dim() != 2:
            raise ValueError(
                f"ids must have shape (batch, length), got {tuple(ids.shape)}; use ids[None] for one sequence.")
        check_ids(ids, self.config.vocab_size)
        T = ids.shape[1]
        if T > self.config.max_len:
            raise ValueError(
                f"sequence of length {T} exceeds the model's max_len={self.config.max_len}; "
                "truncate it or build a model with a larger max_len"
            )
        tokens = self.tok(ids)
        if self.config.positions == "sinusoidal":
            tokens = tokens * math.sqrt(self.config.d_model)  # Vaswani et al., section 3.4
        x = tokens + self.positions(T)
        return x if extra is None else x + extra

    def run_blocks(self, x: torch.Tensor, mask: torch.Tensor | None = None, need_weights: bool = False,
                   causal: bool = False, all_layers: bool = False) -> BlocksOutput:
        """Run ``x (B, T, d)`` through the blocks (and ``ln_f``); see :class:`BlocksOutput`.

        ``mask`` (bool, True = may attend) and ``causal`` choose what each position sees (GPT
        passes ``causal=True``, BERT a padding mask); ``need_weights`` keeps every layer's
        attention probabilities and ``all_layers`` every layer's hidden states.
        """
        attentions = []
        hidden_states = [x] if all_layers else []
        for block in self.blocks:
            x, probs = block(x, mask, need_weights, causal)
            if need_weights:
                attentions.append(probs)
            if all_layers:
                hidden_states.append(x)
        if self.ln_f is not None:
            x = self.ln_f(x)
            if all_layers:
                hidden_states[-1] = x
        return BlocksOutput(x, attentions, hidden_states)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor | None = None, extra: torch.Tensor | None = None,
                need_weights: bool = False, causal: bool = False) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``(B, T)`` ids -> hidden states ``(B, T, d)`` and the list of ``(B, H, T, T)``
        attention probabilities (empty unless ``need_weights``). ``mask`` is a boolean mask
        broadcastable to ``(B, H, T, T)``; ``causal=True`` adds GPT's causal mask to it."""
        out = self.run_blocks(self.drop(self.embed(ids, extra)), mask, need_weights, causal)
        return out.hidden, out.attentions


__all__ = ["TransformerConfig", "causal_mask", "padding_mask", "sinusoidal_positions",
           "MultiHeadAttention", "activation", "Block", "init_normal", "BlocksOutput", "Transformer",
           "ACTIVATIONS", "INIT_SCHEMES", "INIT_STD"]
