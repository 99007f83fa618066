import math

import numpy as np
import pytest
import torch
from torch import nn

from ptm_lib.data.lm import (
    Batches,
    chunks,
    context_windows,
    interpolate_log_probs,
    perplexity,
    perplexity_from_nll,
    token_log_probs,
)


def test_context_windows_hand_made():
    X, y = context_windows(np.array([5, 6, 7, 8]), context=3, pad_id=0)
    assert X.dtype == torch.long and y.dtype == torch.long
    assert X.tolist() == [[0, 0, 0], [0, 0, 5], [0, 5, 6], [5, 6, 7]]
    assert y.tolist() == [5, 6, 7, 8]


def test_context_windows_accepts_lists_and_tensors_and_is_a_copy():
    ids = torch.tensor([1, 2, 3])
    X, y = context_windows(ids, context=1, pad_id=9)
    assert X.tolist() == [[9], [1], [2]]
    X2, _ = context_windows([1, 2, 3], context=1, pad_id=9)
    assert torch.equal(X, X2)
    y[0] = 100  # the examples do not alias the caller's ids
    assert ids[0] == 1


def test_context_windows_bad_input():
    with pytest.raises(ValueError, match="context must be at least 1"):
        context_windows([1, 2], 0, pad_id=0)
    with pytest.raises(ValueError, match="1-D"):
        context_windows(np.zeros((2, 2), dtype=int), 2, pad_id=0)
    with pytest.raises(TypeError, match="encode the words"):
        context_windows(np.array([0.5, 1.0]), 2, pad_id=0)


def test_batches_cover_every_example_once_per_pass():
    X, y = context_windows(np.arange(10), 2, pad_id=0)
    batches = Batches(X, y, batch_size=4, shuffle=True, seed=1)
    assert len(batches) == 3
    for _ in range(2):
        seen = torch.cat([yb for _, yb in batches])
        assert sorted(seen.tolist()) == list(range(10))
    xb, yb = next(iter(Batches(X, y, 4, shuffle=False)))
    assert torch.equal(xb, X[:4]) and torch.equal(yb, y[:4])


def test_chunks_overlap_by_one_token_and_drop_the_tail():
    rows = chunks([1, 2, 3, 4, 5, 6], 2)
    assert rows.tolist() == [[1, 2, 3], [3, 4, 5]]
    assert chunks(torch.arange(9), 4).tolist() == [[0, 1, 2, 3, 4], [4, 5, 6, 7, 8]]
    with pytest.raises(ValueError, match="too short"):
        chunks([1, 2], 2)
    with pytest.raises(ValueError, match="at least 1"):
        chunks([1, 2, 3], 0)


def test_batches_of_rows_alone():
    rows = chunks(torch.arange(41), 4)
    batches = Batches(rows, None, batch_size=3, seed=0)
    assert len(batches) == 4
    seen = torch.cat(list(batches))
    assert seen.shape == rows.shape and sorted(seen[:, 0].tolist()) == rows[:, 0].tolist()


class Uniform(nn.Module):
    """Predicts every word with probability 1 / V, whatever the context."""

    def __init__(self, vocab_size):
        super().__init__()
        self.vocab_size = vocab_size
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, ids):
        return torch.zeros(ids.shape[0], self.vocab_size) + self.dummy


def test_uniform_model_has_perplexity_vocab_size():
    X, y = context_windows(torch.randint(0, 37, (101,)), 3, pad_id=0)
    assert perplexity(Uniform(37), X, y, batch_size=16) == pytest.approx(37, rel=1e-6)


def test_token_log_probs_restore_mode_and_match_log_softmax():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Embedding(11, 4), nn.Flatten(), nn.Dropout(0.5), nn.Linear(8, 11))
    model.train()
    X, y = context_windows(torch.randint(0, 11, (30,)), 2, pad_id=0)
    logp = token_log_probs(model, X, y, batch_size=7)
    assert model.training
    model.eval()
    expected = torch.log_softmax(model(X), -1).gather(1, y[:, None]).squeeze(1)
    assert logp.shape == (30,) and torch.allclose(logp.float(), expected, atol=1e-6)


def test_perplexity_from_nll():
    assert perplexity_from_nll(10 * math.log(4), 10) == pytest.approx(4)
    with pytest.raises(ValueError, match="at least one"):
        perplexity_from_nll(0.0, 0)


def test_interpolate_log_probs():
    a, b = np.log([0.2, 0.5]), np.log([0.4, 0.1])
    assert np.allclose(np.exp(interpolate_log_probs(a, b, 0.5)), [0.3, 0.3])
    assert np.allclose(interpolate_log_probs(a, b, 1.0), a)
    with pytest.raises(ValueError, match="weight"):
        interpolate_log_probs(a, b, 1.5)


# --- sampling text (chapter 2's NNLM and Kneser–Ney generate, GPT's sampler) ---


def test_generate_slides_a_fixed_window():
    from ptm_lib.data.lm import generate

    seen = []

    def next_logits(window):  # deterministic: the next id is (sum of the window) mod 10
        seen.append(window.tolist())
        return torch.nn.functional.one_hot(window.sum() % 10, 10).float() * 50

    out = generate(next_logits, [1, 2, 3, 4], 4, window=3, top_k=1)
    assert out.dtype == torch.long and out.tolist() == [1, 2, 3, 4, 9, 6, 9, 4]
    # the window is the last 3 ids, moved on by one each step
    assert seen == [[2, 3, 4], [3, 4, 9], [4, 9, 6], [9, 6, 9]]
    assert generate(next_logits, [4], 2, window=3, top_k=1).tolist() == [4, 4, 8], "a short prompt is read as is"
    assert generate(next_logits, torch.tensor([1, 2]), 0, window=3).tolist() == [1, 2]


def test_generate_draws_from_the_softmax_and_is_seeded():
    from ptm_lib.data.lm import generate

    probs = torch.tensor([0.5, 0.3, 0.2, 0.0])

    def run(seed, **kwargs):
        g = torch.Generator().manual_seed(seed)
        return generate(lambda w: probs.log(), [0], 3000, window=1, generator=g, **kwargs)[1:]

    drawn = run(0)
    assert torch.equal(drawn, run(0)) and not torch.equal(drawn, run(1))
    freq = torch.bincount(drawn, minlength=4).double() / len(drawn)
    assert torch.allclose(freq, probs.double(), atol=0.03) and freq[3] == 0
    sharp = torch.bincount(run(0, temperature=0.5), minlength=4).double() / 3000  # p ** 2, renormalised
    assert torch.allclose(sharp, (probs ** 2 / (probs ** 2).sum()).double(), atol=0.03)
    assert set(run(0, top_k=2).tolist()) == {0, 1}


def test_generate_bad_input():
    from ptm_lib.data.lm import generate

    def f(w):
        return torch.zeros(5)

    with pytest.raises(ValueError, match="prompt is empty"):
        generate(f, [], 3, window=2)
    for bad in (0, -1.0, float("nan"), float("inf"), "1"):
        with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
            generate(f, [1], 3, window=2, temperature=bad)
    with pytest.raises(ValueError, match="top_k"):
        generate(f, [1], 3, window=2, top_k=0)
    with pytest.raises(ValueError, match="max_new_tokens"):
        generate(f, [1], -1, window=2)
    with pytest.raises(TypeError, match="integer word ids"):
        generate(f, [1.5], 3, window=2)


def test_prompt_ids_and_detokenize():
    from ptm_lib.data.lm import detokenize, prompt_ids
    from ptm_lib.data.vocab import OutOfVocabularyError, Vocab

    vocab = Vocab.build([["the", "company", "'s", "N", "<eos>", "it", "did", "n't"]], specials=("<unk>",))
    assert vocab.decode(prompt_ids(vocab, "the company 's")) == ["the", "company", "'s"]
    assert vocab.decode(prompt_ids(vocab, ["<unk>", "N"])) == ["<unk>", "N"]
    with pytest.raises(OutOfVocabularyError, match="'firm'.*replace rare words by '<unk>'"):
        prompt_ids(vocab, "the firm")
    with pytest.raises(ValueError, match="empty"):
        prompt_ids(vocab, "  ")
    text = detokenize("<eos> the company 's N <unk> <eos> it did n't".split())
    assert text == "the company's N <unk>. it didn't"
    assert detokenize(["in", "the", "u.s.", "<eos>", "<eos>", "'s"]) == "in the u.s. 's"
