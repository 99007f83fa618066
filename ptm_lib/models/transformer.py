"""The Transformer block that GPT (chapter 6) and BERT (chapter 7) share.

Vaswani et al. (2017), "Attention Is All You Need", section 3. One layer ("block") is

    a = MultiHead(x) = Concat(head_1, ..., head_h) W^O                  (section 3.2.2)
    head_i = softmax(Q_i K_i^T / sqrt(d_k) + M) V_i,  Q_i = x W^Q_i ... (Eq. 1)
    FFN(x) = act(x W_1 + b_1) W_2 + b_2                                 (Eq. 2)

with a residual connection and a LayerNorm (Ba et al. 2016) around each of the two
sub-layers. ``M`` is the *mask*: 0 where query ``i`` may look at key ``j`` and ``-inf``
where it may not. The mask is the whole difference between the two models of the book:

* GPT (Radford et al. 2018) is a *decoder*: a **causal** mask (``j <= i``), so the
  prediction at position ``i`` never sees a later word; :func:`causal_mask`.
* BERT (Devlin et al. 2019) is an *encoder*: every token sees every real token; only
  padding is hidden; :func:`padding_mask`.

Where the LayerNorm sits (``TransformerConfig.norm``):

* ``"post"`` -- the original Transformer (section 3.1) and BERT: ``x = LN(x + f(x))``.
  The residual stream is re-normalised after every sub-layer; deep stacks need a
  learning-rate warm-up to train (Xiong et al. 2020). Kept so chapter 7 can load the real
  BERT weights, which are post-LN (BERT adds its own LayerNorm on the embeddings).
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

import torch
import torch.nn.functional as F
from torch import nn

NORMS = ("pre", "post")
POSITIONS = ("learned", "sinusoidal")
ACTIVATIONS = ("gelu_tanh", "gelu", "relu")


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


# --- input checks shared by the book's models ---

RETOKENIZE = "encode the text with the tokenizer (or vocabulary) the model was trained with"


def check_ids(ids: torch.Tensor, size: int, what: str = "token ids", fix: str = RETOKENIZE,
              ignore: int | None = None, within: str = "the vocabulary", unit: str = "tokens in this model") -> None:
    """Refuse ids that an embedding table (or a loss) of ``size`` entries cannot look up.

    ``ids`` must be an integer tensor with every value in ``0 .. size - 1`` (``ignore``,
    e.g. -100 for skipped labels, is also allowed). Errors name the range (``within``, of
    ``size`` ``unit``) and ``fix``, where torch would say ``index out of range in self`` or
    ``Target 70 is out of bounds``. The cost is one min/max over ``ids``.
    """
    if not isinstance(ids, torch.Tensor):
        raise TypeError(f"{what} must be a tensor of integer ids, got {type(ids).__name__}; "
                        "wrap them with torch.tensor(...).")
    if ids.dtype.is_floating_point or ids.dtype.is_complex or ids.dtype == torch.bool:
        raise TypeError(f"{what} must be integer ids, got dtype {ids.dtype}; {fix} (ids are whole numbers, "
                        "e.g. torch.tensor(tokenizer.encode(text))).")
    values = ids[ids != ignore] if ignore is not None else ids
    if values.numel() == 0:
        return
    low, high = (int(v) for v in torch.aminmax(values))
    if low < 0 or high >= size:
        bad = low if low < 0 else high
        raise ValueError(f"{what} hold {bad}, outside {within} 0..{size - 1} ({size} {unit}); {fix}.")


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


def _activation(name: str) -> nn.Module:
    """``gelu_tanh``: GPT-2's ``gelu_new`` (Hendrycks & Gimpel 2016, tanh approximation)."""
    return {"gelu_tanh": nn.GELU(approximate="tanh"), "gelu": nn.GELU(), "relu": nn.ReLU()}[name]


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
            fc=nn.Linear(d, config.ff_width), act=_activation(config.activation), proj=nn.Linear(config.ff_width, d)))
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

class Transformer(nn.Module):
    """Embeddings, ``n_layers`` blocks and (pre-norm) a final LayerNorm: ids -> hidden states.

    The heads (GPT's tied language-model head, BERT's masked-LM and classifier heads) live
    in the models that wrap this stack. ``embed`` and ``run_blocks`` are separate so BERT
    can add its segment embeddings (``extra``) and its embedding LayerNorm in between.
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

    def reset_parameters(self) -> None:
        """GPT-2's initialisation (Radford et al. 2019, section 2.3): weights ~ N(0, 0.02), biases 0,
        and the two projections that write into the residual stream scaled by ``1/sqrt(2 n_layers)``."""
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
        for block in self.blocks:
            for proj in (block.attn.proj, block.mlp.proj):
                nn.init.normal_(proj.weight, std=0.02 / math.sqrt(2 * self.config.n_layers))

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
                   causal: bool = False) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Run ``x (B, T, d)`` through the blocks (and ``ln_f``): hidden states and per-layer probabilities."""
        attentions = []
        for block in self.blocks:
            x, probs = block(x, mask, need_weights, causal)
            if need_weights:
                attentions.append(probs)
        if self.ln_f is not None:
            x = self.ln_f(x)
        return x, attentions

    def forward(self, ids: torch.Tensor, mask: torch.Tensor | None = None, extra: torch.Tensor | None = None,
                need_weights: bool = False, causal: bool = False) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``(B, T)`` ids -> hidden states ``(B, T, d)`` and the list of ``(B, H, T, T)``
        attention probabilities (empty unless ``need_weights``). ``mask`` is a boolean mask
        broadcastable to ``(B, H, T, T)``; ``causal=True`` adds GPT's causal mask to it."""
        return self.run_blocks(self.drop(self.embed(ids, extra)), mask, need_weights, causal)


__all__ = ["TransformerConfig", "check_ids", "causal_mask", "padding_mask", "sinusoidal_positions",
           "MultiHeadAttention", "Block", "Transformer"]
