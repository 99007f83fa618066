"""word2vec: skip-gram and CBOW with negative sampling or hierarchical softmax (chapter 3).

Mikolov et al. (2013a, "Efficient Estimation ...") drop the NNLM's hidden layer: a word's
*input vector* ``W_in[w]`` is scored directly against *output vectors*.

* **skip-gram** scores each (centre, context) pair within the window; as in ``word2vec.c``
  the context word is the input, ``h = W_in[context]``, and the centre the output.
* **CBOW** predicts the centre from the mean of its context: ``h = mean_j W_in[context_j]``.

Scoring ``h`` against all ``V`` words would cost ``O(V)`` per example, so the paper
(Mikolov et al. 2013b, "Distributed Representations ...") offers two cheaper objectives:

* **negative sampling** (section 2.2): ``-log sigma(h . u_target) - sum_k log sigma(-h . u_k)``
  over ``K`` noise words drawn from the unigram^3/4 distribution; ``u = W_out[.]``.
* **hierarchical softmax** (section 2.1): walk the Huffman tree from the root to the target;
  at inner node ``n`` with bit ``b`` the loss is ``-log sigma((1 - 2b) h . u_n)``, following
  ``word2vec.c`` where bit 0 means "sigma(h . u_n) should be 1"; ``u = W_nodes[n]``.

Training (:func:`train_word2vec`) is the hot path of the chapter, so it does **not** go
through :func:`ptm_lib.train.fit`: autograd and a dense optimiser would touch all ``V x d``
parameters on every step, while an update only concerns the few thousand rows a batch
mentions. Instead it is ``word2vec.c``'s own algorithm, batched: plain SGD with a learning
rate that decays linearly to ``1e-4 * lr``, the gradient written out by hand
(:func:`sgd_step`; the tests check it against autograd) and applied with ``index_add_``
to the rows in the batch, like multi-threaded ``word2vec.c`` ("Hogwild") adding up the
updates of a word that occurs several times in a batch.

A batch is a set of *windows* (:func:`ptm_lib.data.skipgram.cbow_windows`): a centre
word and its up to ``2 * window`` context words. Skip-gram uses ``word2vec.c``'s
orientation (each context word's input vector predicts the centre, through the centre's
output vector or Huffman path), and, for negative sampling, the ``K`` noise words are
drawn once per window and shared by its context words (Ji et al. 2016, "Parallelizing
word2vec in shared and distributed memory"; also BlazingText). Every (context, centre)
pair still meets ``K`` noise words, but a window becomes one small matrix product
``(2w, d) x (d, 1 + K)``, about three times faster on a CPU than pair by pair.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..data import skipgram as sg
from ..train import History, is_count, is_positive_number, progress_enabled
from .huffman import HuffmanTree, huffman_tree

MODELS = ("skipgram", "cbow")
LOSSES = ("neg", "hs")


@dataclass(frozen=True)
class Word2VecConfig:
    """Hyper-parameters; the defaults are ``word2vec.c``'s (and gensim's) except
    ``batch_size`` (windows, i.e. centre words, per update; about ``(window + 1)`` pairs each)
    and ``shuffle`` (see below).

    ``sample`` is the subsampling threshold ``t`` (0 disables it). ``lr`` defaults to
    ``word2vec.c``'s 0.025 for skip-gram and 0.05 for CBOW; on the Wikipedia sample (30 s
    budget) skip-gram reached WS-353 0.50 with 0.025 against 0.42 with 0.05 and 0.33 with
    0.0125 (with 512-window batches).

    A batch *adds up* all the updates of a word; for a frequent word that can be hundreds
    of steps taken at once from the same stale vector, which diverges (measured: lr 0.15,
    or 0.1 with 8k batches, and on any tiny vocabulary). ``max_row_updates`` caps it: a
    row expected ``n`` times per batch (from the counts, subsampling and noise distribution;
    see :func:`row_scales`) has its updates scaled by ``min(1, max_row_updates / n)``.
    ``None`` disables the cap. If the loss still becomes infinite, :func:`train_word2vec`
    stops with an error.

    ``shuffle`` sets the order of an epoch's windows: shuffled across the corpus (the
    default), or in text order, as ``word2vec.c`` and gensim read them. On the Wikipedia
    sample (WS-353 Spearman, mean of 3 seeds, after 5 / 10 / 20 / 30 epochs): shuffled
    0.37 / 0.47 / 0.45 / 0.44, text order 0.23 / 0.43 / 0.46 / 0.47, gensim 0.31 / 0.45 /
    0.50 / 0.49. Shuffled windows learn faster; text order, where long runs of updates
    come from one article, ends higher on WS-353 (relatedness) and lower on SimLex-999
    (similarity: 0.21 against 0.23 after 30 epochs). The chapters train a few passes and
    shuffle; ``benchmarks.word2vec`` reads in text order, like gensim.

    Every field is checked when the config is built: a size or rate that cannot train
    (``batch_size=0``, ``window=0``, ``lr=nan``, a negative ``lr``) raises ``ValueError``.
    """

    vocab_size: int
    dim: int = 100
    model: str = "skipgram"
    loss: str = "neg"
    negatives: int = 5
    window: int = 5
    sample: float = 1e-3
    lr: float | None = None
    min_lr_fraction: float = 1e-4
    batch_size: int = 512
    max_row_updates: float | None = 32.0
    shuffle: bool = True

    def __post_init__(self):
        if self.model not in MODELS:
            raise ValueError(f"model={self.model!r}; use one of {MODELS}.")
        if self.loss not in LOSSES:
            raise ValueError(f"loss={self.loss!r}; use one of {LOSSES}.")
        if not is_count(self.vocab_size) or self.vocab_size < 2:
            raise ValueError(f"word2vec needs a vocabulary of at least 2 words, got vocab_size={self.vocab_size!r}; "
                             "pass vocab_size=len(vocab).")
        for name, example in (("dim", 100), ("window", 5), ("batch_size", 512)):
            if not is_count(getattr(self, name)) or getattr(self, name) < 1:
                raise ValueError(f"Word2VecConfig.{name} must be a positive integer, got {getattr(self, name)!r}; "
                                 f"pass e.g. {name}={example}.")
        if not is_count(self.negatives) or self.negatives < (1 if self.loss == "neg" else 0):
            raise ValueError(f"Word2VecConfig.negatives must be a positive integer for negative sampling, got "
                             f"{self.negatives!r}; pass e.g. negatives=5, or loss='hs' to train without noise words.")
        if not (math.isfinite(self.sample) and self.sample >= 0):
            raise ValueError(f"Word2VecConfig.sample must be a threshold >= 0, got {self.sample!r}; pass e.g. "
                             "sample=1e-3, or 0 to keep every word.")
        if self.lr is not None and not is_positive_number(self.lr):
            raise ValueError(f"Word2VecConfig.lr must be a positive, finite learning rate, got {self.lr!r}; pass "
                             "e.g. lr=0.025, or lr=None for word2vec.c's default.")
        if not 0.0 <= self.min_lr_fraction <= 1.0:
            raise ValueError(f"Word2VecConfig.min_lr_fraction is the floor of the decaying rate as a fraction of lr, "
                             f"in [0, 1]; got {self.min_lr_fraction!r}. Pass e.g. min_lr_fraction=1e-4.")
        if self.max_row_updates is not None and not is_positive_number(self.max_row_updates):
            raise ValueError(f"Word2VecConfig.max_row_updates must be a positive cap, got {self.max_row_updates!r}; "
                             "pass e.g. max_row_updates=32.0, or None to disable the cap.")

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else (0.025 if self.model == "skipgram" else 0.05)


def negative_sampling_loss(h: torch.Tensor, u_target: torch.Tensor, u_noise: torch.Tensor,
                           noise_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over the batch of ``-log sigma(h.u_t) - sum_k log sigma(-h.u_k)``.

    Shapes: ``h`` and ``u_target`` ``(B, d)``, ``u_noise`` ``(B, K, d)``; ``noise_mask``
    ``(B, K)`` (False for a noise word equal to the target, which ``word2vec.c`` skips).
    """
    pos = F.logsigmoid((h * u_target).sum(-1))
    neg = F.logsigmoid(-torch.einsum("bd,bkd->bk", h, u_noise))
    if noise_mask is not None:
        neg = neg * noise_mask
    return -(pos + neg.sum(-1)).mean()


def hierarchical_softmax_loss(h: torch.Tensor, u_nodes: torch.Tensor, codes: torch.Tensor,
                              mask: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of ``-sum_i log sigma((1 - 2 code_i) h . u_i)`` along the path.

    Shapes: ``h`` ``(B, d)``; ``u_nodes`` ``(B, L, d)`` (the inner-node vectors on each
    target's path); ``codes`` and ``mask`` ``(B, L)``.
    """
    sign = 1.0 - 2.0 * codes.to(h.dtype)
    scores = torch.einsum("bd,bld->bl", h, u_nodes)
    return -(F.logsigmoid(sign * scores) * mask).sum(-1).mean()


class Word2Vec(nn.Module):
    """Input vectors ``W_in`` ``(V, d)`` and output vectors ``W_out``.

    ``W_out`` is ``(V, d)`` for negative sampling (one per word) and ``(V - 1, d)`` for
    hierarchical softmax (one per inner node of the Huffman tree of ``counts``). As in
    ``word2vec.c``, ``W_in`` starts uniform in ``+-0.5/d`` and ``W_out`` at zero.
    ``counts`` (shape ``(V,)``) give the noise distribution and the tree.
    """

    def __init__(self, config: Word2VecConfig, counts: np.ndarray, seed: int = 0):
        super().__init__()
        counts = np.asarray(counts)
        if counts.ndim != 1 or len(counts) != config.vocab_size:
            raise ValueError(f"counts has shape {counts.shape} but vocab_size={config.vocab_size}; pass one count per "
                             "word, vocab.counts of the vocabulary the config was built from.")
        sg.noise_distribution(counts)  # refuses negative, non-finite or all-zero counts
        self.config = config
        gen = torch.Generator().manual_seed(seed)
        v, d = config.vocab_size, config.dim
        self.W_in = nn.Parameter((torch.rand(v, d, generator=gen) - 0.5) / d, requires_grad=False)
        self.W_out = nn.Parameter(torch.zeros(v - 1 if config.loss == "hs" else v, d), requires_grad=False)
        self.register_buffer("counts", torch.as_tensor(counts, dtype=torch.int64))
        self.register_buffer("noise_table", noise_table(counts))
        tree = huffman_tree(counts) if config.loss == "hs" else None
        if tree is not None:
            self.register_buffer("codes", torch.as_tensor(tree.codes, dtype=torch.float32))
            self.register_buffer("points", torch.as_tensor(tree.points))
            self.register_buffer("path_mask", torch.as_tensor(tree.mask))
        in_scale, out_scale = row_scales(config, counts, tree)
        self.register_buffer("in_scale", torch.as_tensor(in_scale, dtype=torch.float32))
        self.register_buffer("out_scale", torch.as_tensor(out_scale, dtype=torch.float32))

    def sample_noise(self, n: int, k: int) -> torch.Tensor:
        """``(n, k)`` noise word ids from the unigram^3/4 table."""
        return self.noise_table[torch.randint(len(self.noise_table), (n, k), device=self.noise_table.device)].long()

    def output_rows(self, centres: torch.Tensor, noise: torch.Tensor | None = None):
        """Rows of ``W_out`` scored for each centre, with labels and weights, all ``(B, R)``.

        Negative sampling: the centre then ``K`` noise words (``noise`` ``(B, K)``, sampled
        if omitted), labels ``1, 0, ..., 0``, weight 0 for a noise word equal to the centre.
        Hierarchical softmax: the centre's Huffman path, label ``1 - code``, weight = mask.
        """
        if self.config.loss == "hs":
            return self.points[centres], 1.0 - self.codes[centres], self.path_mask[centres].float()
        noise = self.sample_noise(len(centres), self.config.negatives) if noise is None else noise
        rows = torch.cat([centres[:, None], noise], 1)
        labels = torch.zeros(rows.shape, device=rows.device)
        labels[:, 0] = 1.0
        weight = torch.cat([torch.ones(len(centres), 1, device=rows.device), (noise != centres[:, None]).float()], 1)
        return rows, labels, weight

    def loss(self, contexts: torch.Tensor, mask: torch.Tensor, centres: torch.Tensor,
             noise: torch.Tensor | None = None) -> torch.Tensor:
        """The objective for a batch of windows (autograd-friendly; for monitoring and tests).

        ``contexts`` and ``mask`` ``(B, C)``, ``centres`` ``(B,)``; ``noise`` ``(B, K)``.
        Skip-gram: the mean over the (context, centre) pairs, the window's noise words shared
        by its pairs. CBOW: the mean over windows, ``h`` the mean of the context vectors.
        """
        rows, labels, weight = self.output_rows(centres, noise)
        u = self.W_out[rows]  # (B, R, d)
        if self.config.model == "skipgram":
            h = self.W_in[contexts][mask]  # (P, d): one row per pair
            u = u.unsqueeze(1).expand(-1, contexts.shape[1], -1, -1)[mask]  # (P, R, d)
            labels, weight = (x.unsqueeze(1).expand(-1, contexts.shape[1], -1)[mask] for x in (labels, weight))
        else:
            m = mask.float().unsqueeze(-1)
            h = (self.W_in[contexts] * m).sum(1) / m.sum(1).clamp(min=1)
        if self.config.loss == "hs":
            return hierarchical_softmax_loss(h, u, 1.0 - labels, weight)
        return negative_sampling_loss(h, u[:, 0], u[:, 1:], weight[:, 1:])

    @torch.no_grad()
    def vectors(self) -> np.ndarray:
        """The word vectors: ``W_in`` with rows scaled to unit length, ``(V, d)`` float32."""
        return F.normalize(self.W_in.detach().float(), dim=1).cpu().numpy()


def noise_table(counts: np.ndarray, size: int = 10_000_000, power: float = 0.75) -> torch.Tensor:
    """``word2vec.c``'s unigram table: word ids repeated in proportion to count^power.

    Drawing a uniform index into it samples the noise distribution in O(1). It has
    ``max(size, 100 V)`` entries.
    """
    p = sg.noise_distribution(counts, power)
    size = max(size, 100 * len(p))
    cum = np.round(np.cumsum(p) * size).astype(np.int64)
    reps = np.diff(np.concatenate([[0], cum]))
    return torch.as_tensor(np.repeat(np.arange(len(p), dtype=np.int32), reps))


@torch.no_grad()
def sgd_step(model: Word2Vec, contexts: torch.Tensor, mask: torch.Tensor, centres: torch.Tensor, lr: float,
             noise: torch.Tensor | None = None) -> torch.Tensor:
    """One batched ``word2vec.c`` update on windows; returns the summed loss per window ``(B,)``.

    ``contexts``, ``mask`` ``(B, C)`` and ``centres`` ``(B,)`` as from
    :func:`~ptm_lib.data.skipgram.cbow_windows`. For output rows ``u_r`` with labels
    ``y_r`` (see :meth:`Word2Vec.output_rows`) and scores ``s = h . u_r``, the step is
    ``g = lr * (y - sigma(s))``, then ``u_r += g h`` and ``h``'s words get ``sum_r g u_r``:
    minus ``lr`` times the gradient of the summed loss. Skip-gram does this for every
    context word ``h = W_in[c]`` at once with two batched matrix products; CBOW has one
    ``h``, the mean of the context vectors, and each context word gets the whole
    ``sum_r g u_r`` (as in ``word2vec.c``: the gradient of the mean times the number of
    context words). Gradients are computed from the old values, then applied with
    ``index_add_``, scaled per row by :func:`row_scales`.
    """
    b, c = contexts.shape
    rows, labels, weight = model.output_rows(centres, noise)  # (B, R)
    d, r = model.config.dim, rows.shape[1]
    u = model.W_out.index_select(0, rows.reshape(-1)).view(b, r, d)
    hs = model.W_in.index_select(0, contexts.reshape(-1)).view(b, c, d)  # (B, C, d)
    m = mask.to(hs.dtype).unsqueeze(2)  # (B, C, 1)
    if model.config.model == "skipgram":
        scores = torch.bmm(hs, u.transpose(1, 2))  # (B, C, R)
        weight = weight.unsqueeze(1) * m
        g = (labels.unsqueeze(1) - torch.sigmoid(scores)) * weight * lr
        grad_h = torch.bmm(g, u)  # (B, C, d)
        grad_u = torch.bmm(g.transpose(1, 2), hs)  # (B, R, d)
        losses = -(F.logsigmoid((2 * labels.unsqueeze(1) - 1) * scores) * weight).sum((1, 2))
    else:
        h = (hs * m).sum(1) / m.sum(1).clamp(min=1)  # (B, d)
        scores = (u * h.unsqueeze(1)).sum(-1)  # (B, R)
        g = (labels - torch.sigmoid(scores)) * weight * lr
        grad_h = (g.unsqueeze(2) * u).sum(1, keepdim=True).expand(b, c, d)
        grad_u = g.unsqueeze(2) * h.unsqueeze(1)
        losses = -(F.logsigmoid((2 * labels - 1) * scores) * weight).sum(1)
    model.W_out.index_add_(0, rows.reshape(-1), (grad_u * model.out_scale[rows].unsqueeze(2)).reshape(-1, d))
    flat = mask.reshape(-1)
    words = contexts.reshape(-1)[flat]
    model.W_in.index_add_(0, words, grad_h.reshape(-1, d)[flat] * model.in_scale[words].unsqueeze(1))
    return losses


def row_scales(config: Word2VecConfig, counts: np.ndarray,
               tree: HuffmanTree | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-row update scales ``min(1, cap / n)`` for ``W_in`` ``(V,)`` and ``W_out``.

    ``n`` is how many updates a row is expected to receive in one batch of ``B =
    config.batch_size`` windows, each with ``window + 1`` context words on average. With
    ``q`` the unigram distribution after subsampling: an input (context) word ``B (window
    + 1) q_w``; an output word ``B m (q_w + K P_noise(w))`` with ``m = window + 1`` pairs per
    window for skip-gram and 1 for CBOW; an inner node of the Huffman ``tree`` (hierarchical
    softmax) ``B m`` times the total ``q`` of the words below it.
    """
    n_out_rows = len(counts) - 1 if tree is not None else len(counts)
    if config.max_row_updates is None:
        return np.ones(len(counts)), np.ones(n_out_rows)
    counts = np.asarray(counts, dtype=np.float64)
    q = counts * sg.keep_probabilities(counts, config.sample)
    q /= q.sum()
    per_window = config.window + 1
    n_in = config.batch_size * per_window * q
    pairs = config.batch_size * (per_window if config.model == "skipgram" else 1)
    if tree is None:
        n_out = pairs * (q + config.negatives * sg.noise_distribution(counts))
    else:
        node_q = np.zeros(n_out_rows)
        np.add.at(node_q, tree.points[tree.mask], np.repeat(q, tree.lengths))
        n_out = pairs * node_q
    cap = config.max_row_updates
    return np.minimum(1.0, cap / np.maximum(n_in, 1e-12)), np.minimum(1.0, cap / np.maximum(n_out, 1e-12))


def epoch_examples(model: Word2Vec, ids: np.ndarray, sent: np.ndarray,
                   rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
    """One epoch of windows: subsample, then ``(contexts, mask, centres)``, shuffled if
    ``config.shuffle``, else in text order."""
    cfg = model.config
    keep = sg.keep_probabilities(model.counts.cpu().numpy(), cfg.sample)
    ids, sent = sg.subsample(ids, sent, keep, rng)
    examples = sg.cbow_windows(ids, sent, cfg.window, rng)
    if cfg.shuffle:
        order = rng.permutation(len(examples[-1]))
        examples = tuple(x[order] for x in examples)
    device = model.W_in.device
    return tuple(torch.from_numpy(np.ascontiguousarray(x)).to(device) for x in examples)


def train_word2vec(model: Word2Vec, ids: np.ndarray, sent: np.ndarray | None = None, *, epochs: int | None = None,
                   budget_s: float | None = None, seed: int = 0, log_every: int = 50,
                   callback: Callable[[Word2Vec, int], None] | None = None) -> History:
    """Train ``model`` on an id stream for ``epochs`` passes or ``budget_s`` seconds.

    ``ids`` ``(N,)`` is the corpus as word ids and ``sent`` ``(N,)`` the sentence of each
    token (see :func:`ptm_lib.data.skipgram.stream`); without ``sent`` the stream is one
    sentence. The learning rate decays linearly with progress: the fraction of epochs done
    or, with a time budget, the fraction of the budget spent (training then stops at the
    budget, possibly mid-epoch). ``callback(model, epoch)`` runs after each epoch. The
    returned :class:`~ptm_lib.train.History` has ``{"step", "epoch", "loss"}`` records
    (``epoch`` fractional) and two extra attributes: ``words``, the corpus tokens processed
    (before subsampling, counting partial epochs), and ``seconds``, the training time.

    ``ids`` must be integer ids in ``0 .. vocab_size - 1`` (floats are refused rather than
    truncated). A NaN or infinite loss stops training with ``FloatingPointError``: the loss
    is read every ``log_every`` batches and the vectors are checked after every epoch.
    """
    _check_schedule(epochs, budget_s, log_every)
    ids = sg.id_array(ids, "ids", model.config.vocab_size)
    if len(ids) == 0:
        raise ValueError("ids is empty: there is no corpus to train on; pass the id stream from "
                         "ptm_lib.data.skipgram.stream(sentences).")
    sent = np.zeros(len(ids), dtype=np.int64) if sent is None else sg.id_array(sent, "sent")
    if len(sent) != len(ids):
        raise ValueError(f"ids has {len(ids)} tokens but sent has {len(sent)}; give one sentence number per token, "
                         "as ptm_lib.data.skipgram.stream(sentences) returns them.")
    cfg, rng = model.config, np.random.default_rng(seed)
    lr0, history = cfg.learning_rate, History()
    lr = lr0
    start, step, words, epoch = time.perf_counter(), 0, 0.0, 0
    bar = tqdm(total=epochs, desc=f"word2vec {cfg.model}-{cfg.loss}", disable=not progress_enabled(), leave=False)
    done = False
    while not done:
        contexts, mask, centres = epoch_examples(model, ids, sent, rng)
        if len(centres) == 0:
            raise ValueError("No training windows: every sentence is a single word after subsampling.")
        n = len(centres)
        for lo in range(0, len(centres), cfg.batch_size):
            elapsed = time.perf_counter() - start
            progress = elapsed / budget_s if budget_s else (epoch + lo / n) / epochs
            if progress >= 1.0:
                done = True
                break
            lr = lr0 * max(cfg.min_lr_fraction, 1.0 - progress)
            batch = slice(lo, lo + cfg.batch_size)
            losses = sgd_step(model, contexts[batch], mask[batch], centres[batch], lr)
            step += 1
            if step % log_every == 0:  # .item() only now and then: it would sync a GPU
                per = int(mask[batch].sum()) if cfg.model == "skipgram" else len(losses)  # pairs or windows
                value = losses.sum().item() / max(per, 1)
                if not math.isfinite(value):
                    raise FloatingPointError(f"The loss became {value} at lr={lr:.3g}; lower Word2VecConfig.lr "
                                             "or batch_size (a batch sums the updates of frequent words).")
                history.train.append({"step": step, "epoch": epoch + lo / n, "loss": value})
        else:
            lo = n
        words += len(ids) * min(lo, n) / n
        _check_finite(model, lr)
        if not done:
            epoch += 1
            bar.update()
            if callback is not None:
                callback(model, epoch)
            done = epochs is not None and epoch >= epochs
    bar.close()
    history.words, history.seconds = words, time.perf_counter() - start
    return history


def _check_schedule(epochs, budget_s, log_every) -> None:
    """Refuse a training length that would not stop, or not start, as asked."""
    if (epochs is None) == (budget_s is None):
        raise ValueError("Give exactly one of epochs= or budget_s= to train_word2vec().")
    if epochs is not None and not (is_count(epochs) and epochs > 0):
        raise ValueError(f"epochs must be a positive number of passes over the corpus, got {epochs!r}; pass e.g. "
                         "epochs=1, or budget_s= to train for a time.")
    if budget_s is not None and not is_positive_number(budget_s):
        raise ValueError(f"budget_s must be a positive, finite number of seconds, got {budget_s!r}; pass e.g. "
                         "budget_s=30, or epochs= to count passes.")
    if not (is_count(log_every) and log_every > 0):
        raise ValueError(f"log_every must be a positive number of batches, got {log_every!r}; pass e.g. log_every=50.")


def _check_finite(model: Word2Vec, lr: float) -> None:
    """Stop with an error if an update made a vector NaN or infinite (once per epoch: one
    pass over the weights, while the loss itself is only read every ``log_every`` batches)."""
    if not (torch.isfinite(model.W_in).all() and torch.isfinite(model.W_out).all()):
        raise FloatingPointError(f"The word vectors became NaN or infinite (last learning rate {lr:.3g}); lower "
                                 "Word2VecConfig.lr or batch_size (a batch sums the updates of frequent words).")


__all__ = ["Word2VecConfig", "Word2Vec", "negative_sampling_loss", "hierarchical_softmax_loss", "noise_table",
           "row_scales", "sgd_step", "epoch_examples", "train_word2vec"]
