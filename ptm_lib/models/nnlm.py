"""Chapter 2's neural language model: Bengio, Ducharme, Vincent & Jauvin (2003).

The NNLM predicts word ``w_t`` from the ``n - 1`` words before it (section 2 and figure 1
of the paper)::

    x = [C(w_{t-n+1}), ..., C(w_{t-1})]           concatenated embeddings, (batch, context * m)
    y = b + W x + U tanh(d + H x)                  logits, (batch, V)            (Eq. 1)
    P(w_t | w_{t-n+1}, ..., w_{t-1}) = softmax(y)[w_t]

``C`` is a ``V x m`` matrix shared by every context position: row ``C[i]`` is the *feature
vector* of word ``i``. Training the LM learns ``C`` as a by-product, and those rows are
the word embeddings the rest of the book builds on. ``H x + d`` is the hidden layer
(``hidden`` units), ``U`` and ``b`` the output layer, and ``W x`` the optional *direct
connections* from the embeddings to the output (the paper's ``W``; zero when absent).
Almost all of the compute is the softmax over the whole vocabulary (``hidden x V``
multiply-adds per word), which is what word2vec's tricks (chapter 3) later avoid.

:meth:`NNLM.generate` samples text: it draws the next word from ``softmax(y / temperature)``
(optionally only among the ``top_k`` most likely) and slides its ``n - 1``-word window on,
so nothing older than the window can shape what comes next.

Dropout (on ``x`` and on the hidden layer) is not in the 2003 paper; it is a cheap modern
regulariser that helps a small model on PTB and is off when ``dropout=0``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..data.lm import as_prompt, generate
from ..data.vocab import check_ids
from ..train import evaluating

VOCAB_FIX = "encode the words with the Vocab the model was built with (vocab_size=len(vocab))"


@dataclass(frozen=True)
class NNLMConfig:
    """Sizes of :class:`NNLM`; ``context`` is the number of previous words (``n - 1``)."""

    vocab_size: int
    context: int = 4
    embed_dim: int = 64
    hidden: int = 256
    direct: bool = False
    dropout: float = 0.0

    def __post_init__(self):
        for name in ("vocab_size", "context", "embed_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"NNLMConfig.{name} must be positive, got {getattr(self, name)}.")
        if self.hidden < 0:
            raise ValueError(f"NNLMConfig.hidden must be >= 0 (0 means no hidden layer), got {self.hidden}.")
        if self.hidden == 0 and not self.direct:
            raise ValueError("With hidden=0 the model needs direct=True, "
                             "or it has no path from the words to the output.")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"NNLMConfig.dropout must lie in [0, 1), got {self.dropout}.")


class NNLM(nn.Module):
    """Bengio et al. (2003)'s feed-forward language model: ``(batch, context)`` ids -> ``(batch, V)`` logits."""

    def __init__(self, config: NNLMConfig):
        super().__init__()
        self.config = config
        V, m, n_in = config.vocab_size, config.embed_dim, config.context * config.embed_dim
        self.C = nn.Embedding(V, m)  # the shared word feature matrix C, (V, m)
        self.drop = nn.Dropout(config.dropout)
        self.H = nn.Linear(n_in, config.hidden) if config.hidden else None  # H x + d
        self.U = nn.Linear(config.hidden, V) if config.hidden else None  # U h + b
        self.W = nn.Linear(n_in, V, bias=config.hidden == 0) if config.direct else None  # W x (direct connections)
        nn.init.normal_(self.C.weight, std=0.1)

    def features(self, ids: torch.Tensor) -> torch.Tensor:
        """The concatenated context embeddings ``x``, shape ``(batch, context * embed_dim)``."""
        if ids.dim() != 2 or ids.shape[1] != self.config.context:
            raise ValueError(
                f"The NNLM reads exactly {self.config.context} previous words: expected ids of shape "
                f"(batch, {self.config.context}), got {tuple(ids.shape)}. Build examples with "
                "ptm_lib.data.lm.context_windows(ids, context, pad_id)."
            )
        check_ids(ids, self.config.vocab_size, "word ids", VOCAB_FIX)
        return self.C(ids).flatten(1)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits ``y = b + W x + U tanh(d + H x)`` of shape ``(batch, vocab_size)`` (Eq. 1)."""
        x = self.drop(self.features(ids))
        y = 0
        if self.H is not None:
            y = self.U(self.drop(torch.tanh(self.H(x))))
        if self.W is not None:
            y = y + self.W(x)
        return y

    @torch.no_grad()
    def next_word_distribution(self, context_ids, pad_id: int | None = None) -> torch.Tensor:
        """``P(next word | context)`` over the vocabulary, shape ``(vocab_size,)`` (or ``(batch, V)``).

        ``context_ids`` is a sequence of ids (or a ``(batch, length)`` tensor); only the last
        ``context`` ids are used. A shorter context is padded on the left with ``pad_id``
        (the ``<eos>`` id, as in training); without ``pad_id`` it is an error. Runs in eval
        mode and restores the previous mode.
        """
        ids = torch.as_tensor(context_ids, dtype=torch.long, device=self.C.weight.device)
        single = ids.dim() == 1
        ids = ids[None] if single else ids
        n = self.config.context
        if ids.shape[1] < n:
            if pad_id is None:
                raise ValueError(
                    f"The model needs {n} context words but got {ids.shape[1]}; "
                    "pass pad_id=<eos id> to pad the start, as in training."
                )
            pad = torch.full((ids.shape[0], n - ids.shape[1]), int(pad_id), dtype=torch.long, device=ids.device)
            ids = torch.cat([pad, ids], dim=1)
        with evaluating(self):
            probs = torch.softmax(self(ids[:, -n:]).float(), dim=-1)
        return probs[0] if single else probs

    @torch.no_grad()
    def generate(self, prompt, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 generator: torch.Generator | None = None, pad_id: int | None = None) -> torch.Tensor:
        """The 1-D id sequence ``prompt`` followed by ``max_new_tokens`` sampled words:
        a 1-D int64 tensor of length ``len(prompt) + max_new_tokens`` on the model's device.

        Each word is drawn from ``softmax(logits / temperature)`` over the ``top_k`` most
        likely words (all if ``None``; ``top_k=1`` is greedy) given the last ``context``
        words, with ``generator`` (a ``torch.Generator`` on the model's device) for
        reproducible samples; then the window slides on by one word. A prompt shorter than
        ``context`` needs ``pad_id`` (the ``<eos>`` id, as in training) to fill the window.
        Runs in eval mode and restores the previous mode.
        """
        device, n = self.C.weight.device, self.config.context
        ids = as_prompt(prompt).to(device)
        n_pad = n - len(ids) if 0 < len(ids) < n else 0
        if n_pad:
            if pad_id is None:
                raise ValueError(f"The prompt has {len(ids)} words but the model reads {n}; give a longer prompt "
                                 "or pass pad_id=<eos id> to pad its start, as in training.")
            ids = torch.cat([torch.full((n_pad,), int(pad_id), dtype=torch.long, device=device), ids])
        check_ids(ids, self.config.vocab_size, "prompt ids", VOCAB_FIX)
        with evaluating(self):
            out = generate(lambda window: self(window.to(device)[None])[0].float(), ids, max_new_tokens, n,
                           temperature, top_k, generator)
        return out[n_pad:].to(device)


def nnlm_loss(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """The NNLM's training loss: the mean negative log-likelihood (nats per token) of the next
    words ``y`` given contexts ``X``.

    The loss :func:`ptm_lib.train.fit` minimises for the NNLM, or any fixed-context LM that
    maps ``(batch, context)`` ids to ``(batch, V)`` logits; ``exp`` of it is the training
    perplexity. (GPT's, which predicts every position of a sequence, is
    :func:`ptm_lib.models.gpt.lm_loss`.)
    """
    X, y = batch
    logits = model(X).float()
    check_ids(y, logits.shape[-1], "next-word ids", VOCAB_FIX)
    return F.cross_entropy(logits, y)


__all__ = ["NNLMConfig", "NNLM", "nnlm_loss"]
