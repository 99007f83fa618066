"""Chapter 5's baselines: the recurrent and convolutional language models the Transformer displaced.

Zhang Junlin's article argues that the Transformer (Vaswani et al. 2017) won over RNNs and
CNNs for two reasons: it is *parallel* over the positions of a sequence, and any position
can reach any earlier one in *one step*, however far away. To test both claims the book
needs the two rivals with exactly GPT's interface, ``ids (B, T) -> logits (B, T, V)``,
each causal (the output at ``t`` sees only ``x[0..t]``), so the same training loop, task
and stopwatch apply to all three:

:class:`LSTMLM` (Hochreiter & Schmidhuber 1997) carries everything it knows about the past
in a fixed-size state, updated one token at a time::

    h_t, c_t = LSTM(e(x_t), (h_{t-1}, c_{t-1}))          logits_t = E h_t

so the ``T`` steps run one after another, and a token ``d`` positions back must survive
``d`` updates of the state.

:class:`ConvLM` is a stack of causal 1-D convolutions (as in Gehring et al. 2017's ConvS2S
decoder, or WaveNet's, van den Oord et al. 2016), each block pre-norm and residual::

    x <- x + GELU(CausalConv(LayerNorm(x)))              logits_t = E LayerNorm(x_t)

Every position is computed in parallel, but a layer with kernel ``k`` and dilation ``r``
only looks ``(k - 1) r`` tokens back, so after ``L`` layers the output at ``t`` depends on
the last :attr:`ConvLM.receptive_field` tokens and on nothing before them. Left padding
only (``(k - 1) r`` zeros before the sequence) is what makes the convolution causal.

Both models tie the output layer to the input embedding ``E`` (Press & Wolf 2017), as GPT
does, so that at equal width the three models spend the same parameters on the
vocabulary (``LSTMLM(tie_weights=False)`` unties it). :func:`size_matched` picks the width
that gives a wanted parameter count, for comparisons at equal size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

MODEL_KINDS = ("lstm", "conv", "gpt")


def _check_positive(**sizes: int) -> None:
    for name, value in sizes.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")


def _check_ids(ids: torch.Tensor) -> None:
    if ids.dim() != 2:
        raise ValueError(f"Expected token ids of shape (batch, length), got shape {tuple(ids.shape)}; "
                         "add a batch dimension with ids[None].")
    if ids.dtype.is_floating_point or ids.dtype == torch.bool:
        raise TypeError(f"Token ids must be integers, got {ids.dtype}.")


class LSTMLM(nn.Module):
    """A causal LSTM language model: ``(B, T)`` ids -> ``(B, T, V)`` logits.

    embedding ``E`` (``V x d``) -> dropout -> ``n_layers`` of ``nn.LSTM`` (width ``d``)
    -> dropout -> the output layer, by default *tied*: ``logits = h E^T`` (no bias, weight
    shared with the embedding, as in GPT). ``tie_weights=False`` gives it its own ``V x d``
    matrix (more parameters; on chapter 5's delayed-copy task it learned faster).
    """

    def __init__(self, vocab_size: int, d_model: int, n_layers: int, dropout: float = 0.0, tie_weights: bool = True):
        super().__init__()
        _check_positive(vocab_size=vocab_size, d_model=d_model, n_layers=n_layers)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout}.")
        self.vocab_size, self.d_model, self.n_layers = vocab_size, d_model, n_layers
        self.tok = nn.Embedding(vocab_size, d_model)
        self.drop = nn.Dropout(dropout)
        self.lstm = nn.LSTM(d_model, d_model, n_layers, batch_first=True, dropout=dropout if n_layers > 1 else 0.0)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        nn.init.normal_(self.tok.weight, std=0.02)
        if tie_weights:
            self.head.weight = self.tok.weight

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, T, V)``; the output at ``t`` depends only on ``ids[:, :t+1]``."""
        _check_ids(ids)
        h, _ = self.lstm(self.drop(self.tok(ids)))  # (B, T, d), one step after another
        return self.head(self.drop(h))

    def num_parameters(self) -> int:
        """Trainable parameters, the tied embedding counted once."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


class CausalConv1d(nn.Module):
    """A 1-D convolution over time that never looks ahead: ``(B, T, d) -> (B, T, d)``.

    The input is padded with ``(kernel_size - 1) * dilation`` zeros on the left only, so
    output ``t`` mixes inputs ``t - (k-1) r, ..., t - r, t``.
    """

    def __init__(self, d_model: int, kernel_size: int, dilation: int = 1):
        super().__init__()
        self.left_pad = (kernel_size - 1) * dilation
        self.conv = nn.Conv1d(d_model, d_model, kernel_size, dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x.transpose(1, 2), (self.left_pad, 0))  # (B, d, left_pad + T)
        return self.conv(x).transpose(1, 2)


class ConvBlock(nn.Module):
    """``x + GELU(CausalConv(LayerNorm(x)))``, shape ``(B, T, d)`` in and out."""

    def __init__(self, d_model: int, kernel_size: int, dilation: int, dropout: float):
        super().__init__()
        self.ln = nn.LayerNorm(d_model)
        self.conv = CausalConv1d(d_model, kernel_size, dilation)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop(F.gelu(self.conv(self.ln(x))))


class ConvLM(nn.Module):
    """A causal convolutional language model: ``(B, T)`` ids -> ``(B, T, V)`` logits.

    embedding ``E`` -> ``n_layers`` :class:`ConvBlock` s -> LayerNorm -> tied output layer.
    Layer ``i`` (from 0) has dilation ``dilation_growth ** i``: growth 1 gives a plain
    stack, growth 2 doubles the reach with every layer (WaveNet). No position embedding is
    needed: a convolution knows *relative* positions within its window.
    """

    def __init__(self, vocab_size: int, d_model: int, n_layers: int, kernel_size: int = 3,
                 dilation_growth: int = 1, dropout: float = 0.0):
        super().__init__()
        _check_positive(vocab_size=vocab_size, d_model=d_model, n_layers=n_layers, dilation_growth=dilation_growth)
        if not isinstance(kernel_size, int) or kernel_size < 2:
            raise ValueError(f"kernel_size must be an integer >= 2 (1 would never look back), got {kernel_size!r}.")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout}.")
        self.vocab_size, self.d_model, self.n_layers = vocab_size, d_model, n_layers
        self.kernel_size, self.dilation_growth = kernel_size, dilation_growth
        self.tok = nn.Embedding(vocab_size, d_model)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            ConvBlock(d_model, kernel_size, dilation_growth**i, dropout) for i in range(n_layers)
        )
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        self.head.weight = self.tok.weight  # tied
        nn.init.normal_(self.tok.weight, std=0.02)

    @property
    def receptive_field(self) -> int:
        """How many tokens (the current one included) the output at ``t`` can depend on.

        ``1 + (k - 1) * sum_i r_i`` with dilations ``r_i = growth ** i``; for growth 1 this
        is ``1 + n_layers * (k - 1)``, for growth 2 it is ``1 + (k - 1) * (2 ** n_layers - 1)``.
        """
        return 1 + (self.kernel_size - 1) * sum(self.dilation_growth**i for i in range(self.n_layers))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, T, V)``; the output at ``t`` depends only on ``ids[:, t-receptive_field+1 : t+1]``."""
        _check_ids(ids)
        x = self.drop(self.tok(ids))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))

    def num_parameters(self) -> int:
        """Trainable parameters, the tied embedding counted once."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


def build_model(kind: str, vocab_size: int, d_model: int, **fixed) -> nn.Module:
    """An ``"lstm"``, ``"conv"`` or ``"gpt"`` language model of width ``d_model``.

    ``fixed`` holds the other arguments: ``n_layers`` (required for lstm/conv), ``kernel_size``,
    ``dilation_growth``, ``dropout``; for ``"gpt"`` any :class:`~ptm_lib.models.transformer.TransformerConfig`
    field (``n_layers``, ``n_heads``, ``max_len``, ``positions``, ...).
    """
    if kind not in MODEL_KINDS:
        raise ValueError(f"kind={kind!r}; use one of {MODEL_KINDS}.")
    if kind == "gpt":
        from .gpt import GPT
        from .transformer import TransformerConfig

        return GPT(TransformerConfig(vocab_size=vocab_size, d_model=d_model, **fixed))
    if "n_layers" not in fixed:
        raise ValueError(f"Give n_layers= for a {kind!r} model.")
    cls = LSTMLM if kind == "lstm" else ConvLM
    return cls(vocab_size, d_model, **fixed)


def size_matched(kind: str, vocab_size: int, target_params: int, multiple_of: int | None = None,
                 max_width: int = 4096, **fixed) -> nn.Module:
    """The :func:`build_model` of ``kind`` whose width gives the parameter count closest to ``target_params``.

    The count grows with ``d_model``, so doubling the width until the count passes the
    target and then bisecting finds it by building about ``2 log2(d_model)`` models. Widths
    are multiples of ``multiple_of`` (default: ``n_heads`` for a GPT, else 1). Typical use,
    an LSTM and a CNN as big as a GPT::

        gpt = GPT(TransformerConfig(vocab_size=16, d_model=64, n_layers=2, n_heads=4))
        lstm = size_matched("lstm", 16, gpt.num_parameters(), n_layers=1)
        cnn = size_matched("conv", 16, gpt.num_parameters(), n_layers=4, kernel_size=3)
    """
    if target_params < 1:
        raise ValueError(f"target_params must be positive, got {target_params}.")
    step = multiple_of or (fixed.get("n_heads", 4) if kind == "gpt" else 1)
    count = lambda width: build_model(kind, vocab_size, width * step, **fixed).num_parameters()  # noqa: E731
    lo, hi = 1, 1  # in units of step
    while count(hi) < target_params:
        if hi >= max_width // step:
            raise ValueError(f"Even d_model={hi * step} gives fewer than {target_params} parameters; raise max_width.")
        lo, hi = hi, min(2 * hi, max_width // step)
    while lo < hi:  # smallest width with count >= target
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if count(mid) < target_params else (lo, mid)
    best = min((w for w in (lo - 1, lo) if w >= 1), key=lambda w: abs(count(w) - target_params))
    return build_model(kind, vocab_size, best * step, **fixed)


__all__ = ["LSTMLM", "ConvLM", "CausalConv1d", "ConvBlock", "MODEL_KINDS", "build_model", "size_matched"]
