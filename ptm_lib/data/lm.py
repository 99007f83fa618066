"""Language-model data: fixed-context examples from an id stream, and perplexity.

Chapter 2 treats a corpus the way Bengio et al. (2003, section 4) and Mikolov et al. (2011)
do: one continuous stream of word ids in which every sentence ends with ``<eos>``. A
fixed-context model (an n-gram model, the NNLM) predicts each word from the ``context``
words before it, so :func:`context_windows` turns a stream of ``T`` ids into ``T``
examples ``(X[t], y[t]) = (ids[t-context:t], ids[t])``. The first words of the stream
have fewer than ``context`` predecessors; their windows are filled on the left with a
padding id, by convention ``<eos>`` (the word before a text's first sentence is the end of
an imagined previous one), so every token of the stream is scored exactly once.

Perplexity is ``exp`` of the mean negative log-likelihood per predicted token, in nats
(:func:`perplexity_from_nll`). Every LM in the book, count-based or neural, reports it
through that one function.

Sampling text: :func:`sample` draws one token from a model's next-token logits (temperature,
top-k; GPT's ``generate`` uses it too) and :func:`generate` runs it in a loop for a model
that reads a fixed window of the last ``window`` tokens, sliding the window one token per
step (the NNLM's and the Kneser–Ney model's ``generate``). :func:`prompt_ids` turns a
prompt into ids, refusing unknown words, and :func:`detokenize` prints PTB tokens as text.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

import numpy as np
import torch

from ..train import evaluating, is_count, is_positive_number, to_device
from .batches import TensorBatches
from .vocab import OutOfVocabularyError, Vocab


def _as_long_1d(ids, name: str = "ids") -> torch.Tensor:
    """``ids`` (a list, NumPy array or tensor of integers) as a 1-D int64 tensor."""
    t = torch.as_tensor(np.asarray(ids) if not isinstance(ids, torch.Tensor) else ids)
    if t.dim() != 1:
        raise ValueError(f"{name} must be a 1-D sequence of word ids, got shape {tuple(t.shape)}.")
    if t.dtype.is_floating_point or t.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer word ids, got {t.dtype}; "
                        "encode the words with the vocabulary first.")
    return t.long()


def context_windows(ids, context: int, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every token of ``ids`` with the ``context`` ids before it.

    Returns ``X`` of shape ``(T, context)`` and ``y`` of shape ``(T,)`` (both int64) for a
    stream of ``T`` ids, with ``X[t] = ids[t-context:t]`` and ``y[t] = ids[t]``. Positions
    before the start of the stream are filled with ``pad_id`` (use the ``<eos>`` id). Built
    with ``Tensor.unfold`` (a strided view), then copied once, so there is no Python loop
    over tokens. Example with ``context=2, pad_id=0``::

        ids = [5, 6, 7]  ->  X = [[0, 0], [0, 5], [5, 6]],  y = [5, 6, 7]
    """
    ids = _as_long_1d(ids)
    if context < 1:
        raise ValueError(f"context must be at least 1 word, got {context}.")
    padded = torch.cat([torch.full((context,), int(pad_id), dtype=torch.long), ids])
    X = padded.unfold(0, context, 1)[: len(ids)].contiguous()  # window t = padded[t:t+context]
    return X, ids.clone()


def chunks(ids, length: int) -> torch.Tensor:
    """Cut a stream into training rows for a Transformer LM: ``(N, length + 1)`` int64.

    Row ``i`` is ``ids[i*length : i*length + length + 1]``: ``length`` inputs and, shifted by
    one, their ``length`` next-token targets (the last id of a row is the first of the next,
    so every token but the first is predicted exactly once). A tail shorter than a row is
    dropped. Example with ``length=2``: ``[1, 2, 3, 4, 5, 6] -> [[1, 2, 3], [3, 4, 5]]``.
    """
    ids = _as_long_1d(ids)
    if length < 1:
        raise ValueError(f"length must be at least 1 token, got {length}.")
    if len(ids) < length + 1:
        raise ValueError(f"A stream of {len(ids)} ids is too short for one row of {length + 1}; use a shorter length.")
    return ids.unfold(0, length + 1, length).contiguous()


class Batches(TensorBatches):
    """Mini-batches ``(X[i], y[i])`` of in-memory examples, reshuffled every pass.

    Chapter 2's spelling of :class:`~ptm_lib.data.batches.TensorBatches` for ``(X, y)``
    data: a light replacement for ``DataLoader(TensorDataset(X, y))`` that indexes whole
    batches at once, which matters when an epoch has a million tiny examples. ``len()`` is
    the number of batches per pass, so :func:`ptm_lib.train.fit` can show progress. With
    ``y=None`` the batches are rows of ``X`` alone (e.g. the rows of :func:`chunks`).
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor | None, batch_size: int, shuffle: bool = True, seed: int = 0):
        if y is not None and len(X) != len(y):
            raise ValueError(f"X has {len(X)} examples but y has {len(y)}.")
        super().__init__(X if y is None else (X, y), batch_size, shuffle=shuffle, seed=seed, trim_padding=False)


def perplexity_from_nll(total_nll: float, n_tokens: int) -> float:
    """``exp(total_nll / n_tokens)``: perplexity from a summed negative log-likelihood in nats.

    A model that spreads its probability uniformly over ``V`` words has perplexity ``V``;
    perplexity is the size of a uniform choice that would be as surprising as the model.
    """
    if n_tokens <= 0:
        raise ValueError("Perplexity needs at least one scored token.")
    return math.exp(total_nll / n_tokens)


@torch.no_grad()
def token_log_probs(
    model: torch.nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    batch_size: int = 1024,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """``log p(y[i] | X[i])`` in nats for every example, as a float64 CPU tensor of shape ``(N,)``.

    ``model`` maps ``(batch, context)`` ids to ``(batch, vocab)`` logits. It runs in eval
    mode (no dropout) without gradients; its previous mode is restored afterwards.
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    out = []
    with evaluating(model):
        for start in range(0, len(y), batch_size):
            xb = to_device(X[start : start + batch_size], device)
            yb = to_device(y[start : start + batch_size], device)
            logp = torch.log_softmax(model(xb).float(), dim=-1)
            out.append(logp.gather(1, yb[:, None]).squeeze(1).double().cpu())
    if not out:
        raise ValueError("No examples to score.")
    return torch.cat(out)


def perplexity(
    model: torch.nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    batch_size: int = 1024,
    device: torch.device | str | None = None,
) -> float:
    """Perplexity of a fixed-context torch LM on the examples ``(X, y)`` (see :func:`context_windows`)."""
    logp = token_log_probs(model, X, y, batch_size, device)
    return perplexity_from_nll(-logp.sum().item(), len(logp))


def interpolate_log_probs(log_p_a, log_p_b, weight: float = 0.5) -> np.ndarray:
    """Per-token ``log(weight * p_a + (1 - weight) * p_b)`` of two models, computed stably.

    Bengio et al. (2003, section 4.1) mix the NNLM with an interpolated n-gram model this
    way; the mixture helps because the two models make different errors.
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must lie in [0, 1], got {weight}.")
    a = np.asarray(log_p_a, dtype=np.float64)
    b = np.asarray(log_p_b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"The two models scored different numbers of tokens: {a.shape} vs {b.shape}.")
    with np.errstate(divide="ignore"):
        return np.logaddexp(a + np.log(weight), b + np.log1p(-weight))


def sample(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """One token per row from ``softmax(logits / temperature)`` restricted to the ``top_k``
    largest logits: ``(B, V)`` -> ``(B, 1)`` ids. ``generator`` (a ``torch.Generator`` on the
    logits' device) makes the draw reproducible."""
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]  # (B, 1) the k-th largest logit
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator)


def check_sampling_args(max_new_tokens: int, temperature: float, top_k: int | None,
                        zero_is_greedy: bool = False) -> None:
    """Refuse a negative length, a temperature that is not a finite number ``> 0`` (``>= 0``
    where ``zero_is_greedy``, as in ``GPT.generate``) and a ``top_k`` that is not a positive
    integer, each with the fix in the message."""
    if not is_count(max_new_tokens) or max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be a whole number >= 0, got {max_new_tokens!r}; "
                         "pass e.g. max_new_tokens=25.")
    is_zero = isinstance(temperature, numbers.Real) and temperature == 0  # 0 or 0.0
    if zero_is_greedy and not (is_zero or is_positive_number(temperature)):
        raise ValueError(f"temperature must be a finite number >= 0 (0 means greedy), got {temperature!r}; "
                         "pass e.g. temperature=1.0.")
    if not zero_is_greedy and not is_positive_number(temperature):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}; pass e.g. "
                         "temperature=1.0 (lower is more conservative; top_k=1 is greedy decoding).")
    if top_k is not None and (not is_count(top_k) or top_k < 1):
        raise ValueError(f"top_k must be a positive integer or None, got {top_k!r}; pass e.g. top_k=10.")


def as_prompt(prompt) -> torch.Tensor:
    """A prompt of word ids (list, array or tensor) as a non-empty 1-D int64 CPU tensor."""
    if hasattr(prompt, "__len__") and len(prompt) == 0:
        raise ValueError("The prompt is empty; give at least one word, e.g. [eos_id] to start a new sentence.")
    return _as_long_1d(prompt.cpu() if isinstance(prompt, torch.Tensor) else prompt, "prompt")


def generate(
    next_logits: Callable[[torch.Tensor], torch.Tensor],
    prompt,
    max_new_tokens: int,
    window: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Extend ``prompt`` by ``max_new_tokens`` tokens sampled from a fixed-window model.

    ``next_logits`` maps the last ``window`` ids (a 1-D int64 tensor of length
    ``window``, or shorter only if the prompt is) to next-token logits of shape ``(V,)``.
    Each step draws one token with :func:`sample` and slides the window one place, so the
    oldest word drops out: an ``n``-gram model or the NNLM never sees further back than
    ``window = n - 1`` words. Returns the prompt and the new ids, a 1-D int64 tensor of
    length ``len(prompt) + max_new_tokens``. ``top_k=1`` is greedy decoding.
    """
    ids = as_prompt(prompt)
    if not is_count(window) or window < 1:
        raise ValueError(f"window must be a positive number of tokens, got {window!r}.")
    check_sampling_args(max_new_tokens, temperature, top_k)
    out = ids.tolist()
    for _ in range(max_new_tokens):
        logits = next_logits(torch.tensor(out[-window:], dtype=torch.long))
        out.append(int(sample(logits.reshape(1, -1), temperature, top_k, generator)))
    return torch.tensor(out, dtype=torch.long)


def prompt_ids(vocab: Vocab, prompt: str | Sequence[str]) -> np.ndarray:
    """The ids of a prompt's words, as an int64 array; ``prompt`` is a list of tokens or a
    string split on whitespace (so ``"<unk>"``, ``"N"`` and ``"<eos>"`` may be written as is).

    A word missing from ``vocab`` raises :class:`~ptm_lib.data.vocab.OutOfVocabularyError`
    rather than turning silently into ``<unk>``.
    """
    words = prompt.split() if isinstance(prompt, str) else list(prompt)
    if not words:
        raise ValueError("The prompt is empty; give at least one word, e.g. '<eos>' to start a new sentence.")
    unknown = [w for w in words if w not in vocab]
    if unknown:
        raise OutOfVocabularyError(
            f"Not in the vocabulary of {len(vocab):,} words: {', '.join(map(repr, unknown[:5]))}. The text is "
            f"lowercased with numbers written N; replace rare words by {vocab.unk or 'an in-vocabulary word'!r}."
        )
    return vocab.encode(words)


CLITICS = ("'s", "n't", "'re", "'ve", "'ll", "'d", "'m")
"""PTB tokens that belong to the word before them (``company 's`` -> ``company's``)."""


def detokenize(tokens: Sequence[str], eos: str = "<eos>") -> str:
    """PTB tokens as readable text: clitics join the word before them and ``eos`` ends a
    sentence with a full stop (unless the word already ends in one, as ``u.s.`` does);
    ``<unk>`` and ``N`` are kept as they are.

    >>> detokenize("the company 's shares rose N points <eos> it did n't".split())
    "the company's shares rose N points. it didn't"
    """
    out: list[str] = []
    for token in tokens:
        if token == eos:
            if out and not out[-1].endswith("."):
                out[-1] += "."
        elif token in CLITICS and out and not out[-1].endswith("."):
            out[-1] += token
        else:
            out.append(token)
    return " ".join(out)


__all__ = [
    "context_windows",
    "chunks",
    "Batches",
    "perplexity_from_nll",
    "token_log_probs",
    "perplexity",
    "interpolate_log_probs",
    "sample",
    "check_sampling_args",
    "as_prompt",
    "generate",
    "prompt_ids",
    "detokenize",
]
