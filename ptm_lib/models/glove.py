"""GloVe: global vectors from a weighted least-squares fit of log co-occurrences (chapter 3).

Pennington, Socher and Manning (2014) start from the word-word co-occurrence matrix ``X``
(section 3): ``X_ij`` sums ``1 / distance`` over every time word ``j`` appears within
``window`` words of word ``i`` (symmetric: left and right context). The model (eq. 8)

    J = sum_{X_ij > 0} f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2

with the weighting ``f(x) = (x / x_max)^alpha`` for ``x < x_max`` and 1 otherwise (eq. 9;
``x_max = 100``, ``alpha = 3/4``) is fitted by AdaGrad (section 4.2, initial rate 0.05)
over the non-zero entries, shuffled, in mini-batches. The paper uses ``W + W~`` as the
word vectors (section 4.2), which :meth:`GloVe.vectors` returns (rows normalised).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn
from tqdm.auto import tqdm

from ..train import History, progress_enabled


@dataclass(frozen=True)
class GloVeConfig:
    """Hyper-parameters; ``x_max``, ``alpha`` and ``lr`` (AdaGrad) are the paper's."""

    vocab_size: int
    dim: int = 100
    window: int = 10
    x_max: float = 100.0
    alpha: float = 0.75
    lr: float = 0.05
    batch_size: int = 8192


def cooccurrence(ids: np.ndarray, sent: np.ndarray | None, vocab_size: int, window: int = 10) -> sp.csr_matrix:
    """The symmetric co-occurrence matrix ``X`` ``(V, V)`` with ``1 / distance`` weights.

    ``ids`` ``(N,)`` is the corpus as word ids and ``sent`` ``(N,)`` the sentence of each
    token (windows never cross sentences; ``None`` means one sentence). Vectorised over the
    ``window`` offsets; duplicates are summed by ``scipy.sparse``.
    """
    ids = np.asarray(ids, dtype=np.int64)
    sent = np.zeros(len(ids), dtype=np.int64) if sent is None else np.asarray(sent)
    rows, cols, vals = [], [], []
    for d in range(1, window + 1):
        same = sent[d:] == sent[:-d]
        left, right = ids[:-d][same], ids[d:][same]
        rows += [left, right]
        cols += [right, left]
        vals += [np.full(2 * len(left), 1.0 / d)]
    rows, cols, vals = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    x = sp.coo_matrix((vals, (rows, cols)), shape=(vocab_size, vocab_size)).tocsr()
    x.sum_duplicates()
    return x


def weighting(x: torch.Tensor | np.ndarray, x_max: float = 100.0, alpha: float = 0.75):
    """``f(x) = min(1, (x / x_max)^alpha)`` (eq. 9): rare pairs count less, frequent ones are capped."""
    if isinstance(x, torch.Tensor):
        return (x / x_max).pow(alpha).clamp(max=1.0)
    return np.minimum((np.asarray(x, dtype=np.float64) / x_max) ** alpha, 1.0)


class GloVe(nn.Module):
    """Word vectors ``W``, context vectors ``W~`` ``(V, d)`` and biases ``b``, ``b~`` ``(V,)``.

    Initialised uniform in ``+-0.5/d`` as in the reference C code; the embeddings are
    ``sparse`` so AdaGrad only touches the rows in a batch.
    """

    def __init__(self, config: GloVeConfig, seed: int = 0):
        super().__init__()
        self.config = config
        gen = torch.Generator().manual_seed(seed)
        v, d = config.vocab_size, config.dim

        def table(width: int) -> nn.Embedding:
            emb = nn.Embedding(v, width, sparse=True)
            emb.weight.data = (torch.rand(v, width, generator=gen) - 0.5) / d
            return emb

        self.W, self.W_ctx, self.b, self.b_ctx = table(d), table(d), table(1), table(1)

    def loss(self, i: torch.Tensor, j: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``sum f(x) (w_i . w~_j + b_i + b~_j - log x)^2`` over a batch, divided by its size.

        ``i``, ``j`` ``(B,)`` word and context ids, ``x`` ``(B,)`` their co-occurrence values (> 0).
        """
        pred = (self.W(i) * self.W_ctx(j)).sum(-1) + self.b(i).squeeze(-1) + self.b_ctx(j).squeeze(-1)
        f = weighting(x, self.config.x_max, self.config.alpha)
        return (f * (pred - torch.log(x)) ** 2).mean()

    @torch.no_grad()
    def vectors(self) -> np.ndarray:
        """``W + W~`` with unit-length rows, ``(V, d)`` float32 (section 4.2)."""
        v = self.W.weight + self.W_ctx.weight
        return torch.nn.functional.normalize(v, dim=1).cpu().numpy()


def train_glove(model: GloVe, x: sp.spmatrix, *, epochs: int | None = None, budget_s: float | None = None,
                seed: int = 0, log_every: int = 20) -> History:
    """Fit ``model`` to the non-zero entries of ``x`` with AdaGrad, for ``epochs`` or ``budget_s`` s.

    Each epoch visits every non-zero ``X_ij`` once in random order, in batches of
    ``config.batch_size``. The loss is recorded as in :func:`ptm_lib.train.fit`; the
    history also carries ``seconds`` and ``epochs`` (fractional).
    """
    if (epochs is None) == (budget_s is None):
        raise ValueError("Give exactly one of epochs= or budget_s= to train_glove().")
    coo = x.tocoo()
    if coo.nnz == 0:
        raise ValueError("The co-occurrence matrix is empty; is the corpus empty or the window 0?")
    device = model.W.weight.device  # the entries go where the model is (a GPU in the gpu preset)
    i_all = torch.from_numpy(coo.row.astype(np.int64)).to(device)
    j_all = torch.from_numpy(coo.col.astype(np.int64)).to(device)
    x_all = torch.from_numpy(coo.data.astype(np.float32)).to(device)
    cfg, gen = model.config, torch.Generator().manual_seed(seed)
    opt = torch.optim.Adagrad(model.parameters(), lr=cfg.lr)
    history, start, step, epoch, done = History(), time.perf_counter(), 0, 0.0, False
    bar = tqdm(total=epochs, desc="GloVe", disable=not progress_enabled(), leave=False)
    while not done:
        order = torch.randperm(coo.nnz, generator=gen).to(device)
        for lo in range(0, coo.nnz, cfg.batch_size):
            if budget_s is not None and time.perf_counter() - start >= budget_s:
                done = True
                break
            idx = order[lo:lo + cfg.batch_size]
            loss = model.loss(i_all[idx], j_all[idx], x_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            with torch.sparse.check_sparse_tensor_invariants(enable=False):  # opt out explicitly: no warning
                opt.step()
            step += 1
            if step % log_every == 0:
                history.train.append({"step": step, "epoch": epoch + lo / coo.nnz, "loss": loss.item()})
        else:
            lo = coo.nnz
        epoch += lo / coo.nnz
        bar.update()
        done = done or (epochs is not None and epoch >= epochs)
    bar.close()
    history.seconds, history.epochs = time.perf_counter() - start, epoch
    return history


__all__ = ["GloVeConfig", "GloVe", "cooccurrence", "weighting", "train_glove"]
