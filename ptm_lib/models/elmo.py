"""Chapter 4's ELMo: a bidirectional LSTM language model whose layers are the word vectors.

Peters et al. (2018), "Deep contextualized word representations", section 3. A *forward*
LM reads a sentence left to right and predicts each next token; a *backward* LM reads it
right to left and predicts each previous one (section 3.1)::

    forward:   p(t_1, ..., t_N) = prod_k p(t_k | t_1, ..., t_{k-1})
    backward:  p(t_1, ..., t_N) = prod_k p(t_k | t_{k+1}, ..., t_N)

Both LMs are L = 2 layers of LSTM (Hochreiter & Schmidhuber 1997) with a residual
connection from the first layer's output to the second's, and they *share* two things:
the token representation ``x_k`` below the LSTMs and the softmax layer above them; only
the LSTMs are separate. Training maximises the two log-likelihoods jointly; here the loss
is the mean of the two directions' cross-entropies (:func:`bilm_loss`).

For a token ``k`` the biLM then offers ``2L + 1`` vectors, grouped into ``L + 1`` layers
of width ``2d`` (:meth:`BiLM.forward`, shape ``(L + 1, B, T, 2d)``)::

    h_{k,0} = [x_k ; x_k]                          the token layer, duplicated
    h_{k,j} = [fwd h_{k,j} ; bwd h_{k,j}]          j = 1 .. L

and a downstream task learns how to mix them (Eq. 1, :class:`ScalarMix`)::

    ELMo_k = gamma * sum_j s_j h_{k,j},            s = softmax(w)

Two token encoders (``BiLMConfig.encoder``):

* ``"char"`` -- the paper's choice, from Jozefowicz et al. (2016) and Kim et al. (2016):
  the word's UTF-8 bytes between begin/end-of-word marks -> 16-dim character embeddings
  -> 1-D convolutions of several widths -> max-pool over positions -> highway layers
  (Srivastava et al. 2015) -> a linear projection to ``d`` (:class:`CharCNN`). Any string
  gets a vector, so there are no out-of-vocabulary *inputs*, and words that share
  spelling ("walk", "walked", "walking") share parameters. Its size does not grow with
  the vocabulary.
* ``"word"`` -- a plain ``V x d`` embedding table, as in chapter 2's LMs: every word
  below ``min_count`` becomes the one ``<unk>`` vector, and ``V x d`` parameters are spent
  on the table. Cheaper to run, and a useful baseline for what the characters add.

Either way the *output* softmax is over the word vocabulary (``V`` words with ``<unk>``).
The LSTMs can have a cell wider than ``d`` with a projection back to ``d`` (Sak et al.
2014's LSTMP; ELMo uses 4096 cells projected to 512): ``BiLMConfig.lstm_hidden``.

The inputs (the word vocabulary, character ids, padded batches and pretraining windows)
are made by :mod:`ptm_lib.data.bilm`.

Padding. A batch is right-padded with ``pad_id``. The forward LSTM never looks right, so
padding after a sequence cannot reach it. The backward LSTM must start at each
sequence's *own* last token, not at the padding: :func:`reverse_padded` reverses each
row within its length, the same forward-running LSTM reads the reversed rows, and a
second reversal puts the states back in place. Padded positions of the outputs are zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..data.bilm import N_CHARS, PAD_CHAR, encode_batch
from ..data.vocab import Vocab, check_ids
from ..train import IGNORE, evaluating, to_device

ENCODERS = ("char", "word")


# ----------------------------------------------------------------------------- config


@dataclass(frozen=True)
class BiLMConfig:
    """Sizes and choices of a :class:`BiLM` (defaults: the book's CPU preset).

    ``vocab_size`` words in the softmax (and in the input table of the ``"word"`` encoder);
    ``d_model`` (``d``) the width of the token representation and of every LSTM output;
    ``lstm_hidden`` the LSTM cell size (``None``: ``d``; larger adds a projection to ``d``);
    ``n_layers`` LSTM layers per direction (``L``); ``pad_id`` the padding word id.
    Character encoder: ``max_chars`` bytes per word including the two word marks (longer
    words are cut), ``char_dim``, ``filters`` as ``(width, count)`` pairs, ``n_highway``.
    """

    vocab_size: int
    d_model: int = 128
    lstm_hidden: int | None = None
    n_layers: int = 2
    encoder: str = "char"
    pad_id: int = 1
    max_chars: int = 20
    char_dim: int = 16
    filters: tuple[tuple[int, int], ...] = ((1, 32), (2, 32), (3, 64), (4, 128), (5, 128))
    n_highway: int = 2
    dropout: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "filters", tuple((int(w), int(n)) for w, n in self.filters))  # lists from a file
        for name in ("vocab_size", "d_model", "n_layers", "max_chars", "char_dim"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"BiLMConfig.{name} must be a positive integer, got {value!r}.")
        if self.encoder not in ENCODERS:
            raise ValueError(f"BiLMConfig.encoder={self.encoder!r}; use one of {ENCODERS}.")
        if self.lstm_hidden is not None and self.lstm_hidden < self.d_model:
            raise ValueError(f"BiLMConfig.lstm_hidden={self.lstm_hidden} is smaller than d_model={self.d_model}: "
                             "the cell is projected *down* to d_model; use lstm_hidden >= d_model or None.")
        if not 0 <= self.pad_id < self.vocab_size:
            raise ValueError(f"BiLMConfig.pad_id={self.pad_id} is not a word id (vocab_size={self.vocab_size}).")
        if not self.filters or any(w < 1 or n < 1 for w, n in self.filters):
            raise ValueError(f"BiLMConfig.filters must be non-empty (width, count) pairs of positive ints, "
                             f"got {self.filters}.")
        if self.encoder == "char" and self.max_chars < max(w for w, _ in self.filters):
            raise ValueError(f"max_chars={self.max_chars} is shorter than the widest filter "
                             f"({max(w for w, _ in self.filters)}); raise max_chars or narrow the filters.")
        if self.n_highway < 0:
            raise ValueError(f"BiLMConfig.n_highway must be >= 0, got {self.n_highway}.")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"BiLMConfig.dropout must lie in [0, 1), got {self.dropout}.")

    @property
    def n_representation_layers(self) -> int:
        """``L + 1``: the token layer and one per LSTM layer."""
        return self.n_layers + 1


# ----------------------------------------------------------------------------- padding


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each row of ``x`` (``(B, T, ...)``) within its first ``lengths[b]`` positions.

    Padding stays where it is, so row ``[a, b, c, pad]`` becomes ``[c, b, a, pad]``; the
    function is its own inverse.
    """
    T = x.shape[1]
    t = torch.arange(T, device=x.device)[None, :]  # (1, T)
    L = lengths.to(x.device)[:, None]  # (B, 1)
    index = torch.where(t < L, L - 1 - t, t)  # (B, T)
    return x.gather(1, index.view(*index.shape, *[1] * (x.dim() - 2)).expand_as(x))


# ----------------------------------------------------------------------------- encoders


class Highway(nn.Module):
    """Srivastava et al. (2015): ``y = g * relu(W_h x) + (1 - g) * x``, ``g = sigmoid(W_g x)``; ``(..., n)``.

    The gate's bias starts at -2, so each layer first mostly *carries* its input (as in
    Kim et al. 2016).
    """

    def __init__(self, width: int, n_layers: int):
        super().__init__()
        self.transforms = nn.ModuleList(nn.Linear(width, width) for _ in range(n_layers))
        self.gates = nn.ModuleList(nn.Linear(width, width) for _ in range(n_layers))
        for gate in self.gates:
            nn.init.constant_(gate.bias, -2.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for transform, gate in zip(self.transforms, self.gates):
            g = torch.sigmoid(gate(x))
            x = g * F.relu(transform(x)) + (1 - g) * x
        return x


class CharCNN(nn.Module):
    """Characters -> token vector: ``(B, T, max_chars)`` char ids -> ``(B, T, d)``.

    embed each character (``char_dim``) -> for each ``(width, count)`` filter bank, a 1-D
    convolution over the characters, ReLU, and the max over positions (``count`` features
    that fire on a character n-gram anywhere in the word) -> concatenate -> highway layers
    -> linear projection to ``d``.
    """

    def __init__(self, config: BiLMConfig):
        super().__init__()
        self.embed = nn.Embedding(N_CHARS, config.char_dim, padding_idx=PAD_CHAR)
        self.convs = nn.ModuleList(nn.Conv1d(config.char_dim, n, w) for w, n in config.filters)
        width = sum(n for _, n in config.filters)
        self.highway = Highway(width, config.n_highway)
        self.proj = nn.Linear(width, config.d_model)

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        B, T, C = chars.shape
        e = self.embed(chars.reshape(B * T, C).long()).transpose(1, 2)  # (B*T, char_dim, C)
        pooled = [F.relu(conv(e)).amax(dim=-1) for conv in self.convs]  # each (B*T, count)
        return self.proj(self.highway(torch.cat(pooled, dim=-1))).view(B, T, -1)


class LSTMStack(nn.Module):
    """One direction's LM body: ``n_layers`` LSTMs, ``(B, T, d)`` -> a list of ``n_layers`` ``(B, T, d)``.

    Layer ``j > 1`` adds its input to its output (the residual connection of Peters et al.,
    section 3.4). Runs left to right; the backward LM feeds it reversed rows.
    """

    def __init__(self, config: BiLMConfig):
        super().__init__()
        d, hidden = config.d_model, config.lstm_hidden or config.d_model
        proj = d if hidden > d else 0  # LSTMP: cells of size `hidden`, outputs projected to d
        self.lstms = nn.ModuleList(nn.LSTM(d, hidden, batch_first=True, proj_size=proj)
                                   for _ in range(config.n_layers))
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for j, lstm in enumerate(self.lstms):
            h, _ = lstm(self.drop(x))
            x = h + x if j > 0 else h
            outputs.append(x)
        return outputs


# ----------------------------------------------------------------------------- the biLM


class BiLM(nn.Module):
    """Peters et al. (2018)'s biLM: right-padded ``(B, T)`` word ids (+ chars) -> ``(L + 1, B, T, 2d)`` layers.

    ``encoder`` (shared) -> ``forward_lm`` and ``backward_lm`` (:class:`LSTMStack` each)
    -> ``softmax`` (one ``d -> V`` layer, shared by the two directions).
    """

    def __init__(self, config: BiLMConfig):
        super().__init__()
        self.config = config
        if config.encoder == "char":
            self.encoder = CharCNN(config)
        else:
            self.encoder = nn.Embedding(config.vocab_size, config.d_model, padding_idx=config.pad_id)
            nn.init.normal_(self.encoder.weight, std=0.1)
        self.drop = nn.Dropout(config.dropout)
        self.forward_lm = LSTMStack(config)
        self.backward_lm = LSTMStack(config)
        self.softmax = nn.Linear(config.d_model, config.vocab_size)

    def _check(self, words: torch.Tensor, chars: torch.Tensor | None) -> torch.Tensor:
        """Validate a batch; return its ``lengths`` ``(B,)``."""
        if words.dim() != 2 or words.dtype.is_floating_point or words.dtype == torch.bool:
            raise ValueError(f"words must be integer ids of shape (batch, length), got {words.dtype} "
                             f"{tuple(words.shape)}; make batches with ptm_lib.data.bilm.encode_batch.")
        if self.config.encoder == "char":
            if chars is None:
                raise ValueError("This biLM reads characters: pass chars (B, T, max_chars) from encode_batch.")
            if chars.shape != (*words.shape, self.config.max_chars):
                raise ValueError(f"chars must have shape {(*words.shape, self.config.max_chars)} "
                                 f"(words' shape + max_chars), got {tuple(chars.shape)}.")
            check_ids(chars, N_CHARS, "character ids", "make them with char_ids or encode_batch",
                      within="the character ids", unit="bytes and marks")
        check_ids(words, self.config.vocab_size, "word ids", "encode the sentences with the biLM's own vocabulary "
                  "(encode_batch(sentences, vocab))")
        mask = words != self.config.pad_id
        if (mask[:, 1:] & ~mask[:, :-1]).any():
            raise ValueError("Padding must come after the tokens (right padding): a real token follows <pad>.")
        return mask.sum(1)

    def _encode(self, words: torch.Tensor, chars: torch.Tensor | None) -> torch.Tensor:
        return self.encoder(chars) if self.config.encoder == "char" else self.encoder(words)

    def token_representation(self, words: torch.Tensor, chars: torch.Tensor | None = None) -> torch.Tensor:
        """``x_k``, the context-independent layer: ``(B, T, d)``."""
        self._check(words, chars)
        return self._encode(words, chars)

    def states(self, words: torch.Tensor, chars: torch.Tensor | None = None):
        """``(x, forward layers, backward layers, mask)``: ``x`` and each layer ``(B, T, d)``, mask ``(B, T)``."""
        lengths = self._check(words, chars)
        x = self._encode(words, chars)
        fwd = self.forward_lm(self.drop(x))
        bwd = [reverse_padded(h, lengths) for h in self.backward_lm(reverse_padded(self.drop(x), lengths))]
        return x, fwd, bwd, words != self.config.pad_id

    def forward(self, words: torch.Tensor, chars: torch.Tensor | None = None) -> torch.Tensor:
        """The ``L + 1`` layers ``h_{k,j}``, shape ``(L + 1, B, T, 2d)``; zero at padded positions.

        Layer 0 is ``[x_k ; x_k]``; layer ``j`` is ``[forward h_{k,j} ; backward h_{k,j}]``.
        """
        x, fwd, bwd, mask = self.states(words, chars)
        layers = [torch.cat([x, x], -1)] + [torch.cat([f, b], -1) for f, b in zip(fwd, bwd)]
        return torch.stack(layers) * mask[None, :, :, None]

    def lm_logits(self, words: torch.Tensor, chars: torch.Tensor | None = None):
        """``(forward, backward)`` logits, each ``(B, T, V)``.

        ``forward[:, t]`` predicts ``words[:, t + 1]`` from tokens ``<= t``;
        ``backward[:, t]`` predicts ``words[:, t - 1]`` from tokens ``>= t``.
        """
        _, fwd, bwd, _ = self.states(words, chars)
        return self.softmax(self.drop(fwd[-1])), self.softmax(self.drop(bwd[-1]))

    def num_parameters(self) -> int:
        """Trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


# ----------------------------------------------------------------------------- losses


def _unpack(batch) -> tuple[torch.Tensor, torch.Tensor | None]:
    """A batch is ``(words, chars)`` or ``words`` alone (for the word encoder)."""
    if isinstance(batch, torch.Tensor):
        return batch, None
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    raise ValueError("A biLM batch is (words, chars) from encode_batch/corpus_windows, or words alone.")


def direction_nll(model: BiLM, batch) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Summed negative log-likelihoods ``(forward, backward)`` in nats and the number of predictions.

    Every adjacent pair of real tokens ``(t, t + 1)`` gives one forward prediction
    (``t + 1`` from ``<= t``) and one backward one (``t`` from ``>= t + 1``), so both
    directions make the same number of predictions: ``sum_b (length_b - 1)``.
    """
    words, chars = _unpack(batch)
    fwd, bwd = model.lm_logits(words, chars)  # checks that every id is in the vocabulary
    real = words[:, 1:] != model.config.pad_id  # both tokens of the pair are real (right padding)
    n = int(real.sum())
    if n == 0:
        raise ValueError("No sequence in the batch has two tokens: there is nothing to predict.")
    ignore = torch.full_like(words[:, 1:], IGNORE)
    next_word = torch.where(real, words[:, 1:], ignore)
    prev_word = torch.where(real, words[:, :-1], ignore)
    nll_fwd = F.cross_entropy(fwd[:, :-1].flatten(0, 1).float(), next_word.flatten(), reduction="sum")
    nll_bwd = F.cross_entropy(bwd[:, 1:].flatten(0, 1).float(), prev_word.flatten(), reduction="sum")
    return nll_fwd, nll_bwd, n


def bilm_loss(model: BiLM, batch) -> torch.Tensor:
    """The loss :func:`ptm_lib.train.fit` minimises: the mean of the forward and backward
    LMs' cross-entropies, nats per prediction."""
    nll_fwd, nll_bwd, n = direction_nll(model, batch)
    return 0.5 * (nll_fwd + nll_bwd) / n


def direction_perplexity(model: BiLM, batches: Iterable) -> dict[str, float]:
    """Each direction's perplexity on held-out ``batches``: ``{"forward": ..., "backward": ...}``.

    Runs in eval mode on the model's device and restores the previous mode.
    """
    device = next(model.parameters()).device
    total_fwd = total_bwd = 0.0
    count = 0
    with evaluating(model):
        for batch in batches:
            nll_fwd, nll_bwd, n = direction_nll(model, to_device(batch, device))
            total_fwd, total_bwd, count = total_fwd + nll_fwd.item(), total_bwd + nll_bwd.item(), count + n
    if count == 0:
        raise ValueError("No batches to score.")
    return {"forward": math.exp(total_fwd / count), "backward": math.exp(total_bwd / count)}


# ----------------------------------------------------------------------------- ELMo = a mix of layers


class ScalarMix(nn.Module):
    """Peters et al. (2018), Eq. 1: ``ELMo_k = gamma * sum_j s_j h_{k,j}`` with ``s = softmax(w)``.

    ``(n_layers, ..., D)`` layers -> ``(..., D)``. The weights ``w`` (start at 0: an equal
    mix) and the scale ``gamma`` (starts at 1) are learned by the downstream task, while
    the biLM itself usually stays frozen.
    """

    def __init__(self, n_layers: int = 3, gamma: float = 1.0):
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"n_layers must be positive, got {n_layers}.")
        self.scalars = nn.Parameter(torch.zeros(n_layers))
        self.gamma = nn.Parameter(torch.tensor(float(gamma)))

    @property
    def weights(self) -> torch.Tensor:
        """The softmax-normalised layer weights ``s_j``, shape ``(n_layers,)``; they sum to 1."""
        return torch.softmax(self.scalars, dim=0)

    def forward(self, layers: torch.Tensor) -> torch.Tensor:
        if layers.dim() < 2 or layers.shape[0] != len(self.scalars):
            raise ValueError(f"Expected {len(self.scalars)} layers stacked on dim 0, got shape {tuple(layers.shape)}.")
        s = self.weights.to(layers.dtype)
        return self.gamma * torch.einsum("l,l...->...", s, layers)


def embed_sentences(model: BiLM, vocab: Vocab, sentences: Sequence[Sequence[str]],
                    batch_size: int = 64, boundaries: bool = False) -> list[torch.Tensor]:
    """The biLM layers of each sentence: a list of ``(L + 1, n_i, 2d)`` float32 CPU tensors.

    The sentences are encoded by :func:`ptm_lib.data.bilm.encode_batch`. Runs in eval mode
    on the model's device (restoring its mode). With ``boundaries=True`` the sentences are
    read between ``<s>`` and ``</s>``, which are dropped from the output.
    """
    device = next(model.parameters()).device
    out = []
    with evaluating(model):
        for start in range(0, len(sentences), batch_size):
            chunk = sentences[start : start + batch_size]
            words, chars = encode_batch(chunk, vocab, model.config.max_chars, boundaries)
            layers = model(words.to(device), chars.to(device)).float().cpu()
            first = 1 if boundaries else 0
            out += [layers[:, b, first : first + len(s)] for b, s in enumerate(chunk)]
    return out


__all__ = [
    "BiLMConfig", "BiLM", "CharCNN", "Highway", "LSTMStack", "ScalarMix",
    "reverse_padded", "direction_nll", "bilm_loss", "direction_perplexity", "embed_sentences", "ENCODERS",
]
