"""Bad input to the training loops gets a clear error that names the fix (the "bad input" issue).

Each case used to hang, divide by zero, train wrongly or fail deep inside torch/NumPy.
"""

import numpy as np
import pytest
import torch

from ptm_lib.data import skipgram as sg
from ptm_lib.models.word2vec import Word2Vec, Word2VecConfig, train_word2vec
from ptm_lib.train import classification_loss, fit

X, Y = torch.randn(32, 4, generator=torch.Generator().manual_seed(0)), torch.arange(32) % 3
DATA = [(X[i:i + 8], Y[i:i + 8]) for i in range(0, 32, 8)]


def linear() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Linear(4, 3)


class TestFit:
    @pytest.mark.parametrize("steps", [0, -1, 2.5])
    def test_steps_must_be_a_positive_whole_number(self, steps):  # used to loop forever
        with pytest.raises(ValueError, match=rf"steps must be a positive number of updates, got {steps}; pass e.g. "
                                             r"steps=100, or epochs="):
            fit(linear(), DATA, classification_loss, steps=steps)

    @pytest.mark.parametrize("epochs", [0, -1])
    def test_epochs_must_be_positive(self, epochs):  # used to return an empty history
        with pytest.raises(ValueError, match=r"epochs must be a positive number of passes .* pass e.g. epochs=1"):
            fit(linear(), DATA, classification_loss, epochs=epochs)

    @pytest.mark.parametrize("clip_norm", [-1.0, 0.0, float("nan")])
    def test_clip_norm_must_be_positive_or_none(self, clip_norm):  # -1 flipped the gradients
        with pytest.raises(ValueError, match=r"clip_norm must be a positive gradient norm.*clip_norm=None to train "
                                             r"without clipping"):
            fit(linear(), DATA, classification_loss, steps=2, clip_norm=clip_norm)

    @pytest.mark.parametrize("log_every", [0, -1])
    def test_log_every_must_be_positive(self, log_every):  # 0 divided by zero
        with pytest.raises(ValueError, match=r"log_every must be a positive number of steps.*log_every=10"):
            fit(linear(), DATA, classification_loss, steps=2, log_every=log_every)

    @pytest.mark.parametrize("lr", [float("nan"), -1.0, 0.0, float("inf")])
    def test_lr_must_be_positive_and_finite(self, lr):
        with pytest.raises(ValueError, match=r"lr must be a positive, finite learning rate.*lr=1e-3"):
            fit(linear(), DATA, classification_loss, steps=2, lr=lr)

    def test_weight_decay_and_eval_every(self):
        with pytest.raises(ValueError, match=r"weight_decay must be a finite number >= 0.*weight_decay=0.01"):
            fit(linear(), DATA, classification_loss, steps=2, weight_decay=-1.0)
        with pytest.raises(ValueError, match=r"eval_every must be a positive number of steps.*eval_every=100"):
            fit(linear(), DATA, classification_loss, steps=2, eval_every=-1, evaluate=lambda m: {"x": 0.0})

    def test_loss_fn_must_return_a_one_number_tensor(self):
        per_example = lambda m, b: torch.nn.functional.cross_entropy(m(b[0]), b[1], reduction="none")  # noqa: E731
        with pytest.raises(ValueError, match=r"shape \(8,\).*reduce it, e.g. with .mean\(\)"):
            fit(linear(), DATA, per_example, steps=1)
        with pytest.raises(TypeError, match=r"returned a float, not a tensor; return the loss tensor itself"):
            fit(linear(), DATA, lambda m, b: classification_loss(m, b).item(), steps=1)

    def test_model_without_parameters(self):  # used to raise a bare StopIteration
        with pytest.raises(ValueError, match="ReLU has no parameters.*pass the model whose weights should learn"):
            fit(torch.nn.ReLU(), DATA, classification_loss, steps=1)

    def test_a_used_up_generator_names_the_fix(self):
        with pytest.raises(ValueError, match=r"empty in epoch 1.*give a list or a re-iterable loader"):
            fit(linear(), (b for b in DATA), classification_loss, epochs=2)

    def test_valid_arguments_still_train(self):
        history = fit(linear(), DATA, classification_loss, steps=4, clip_norm=None, eval_every=0, log_every=2)
        assert [r["step"] for r in history.train] == [2, 4]


# ---------------------------------------------------------------------------------- word2vec

IDS = np.random.default_rng(0).integers(0, 20, 2000)
COUNTS = np.bincount(IDS, minlength=20)


def word2vec(**config) -> Word2Vec:
    return Word2Vec(Word2VecConfig(20, **{"dim": 8, "batch_size": 64, **config}), COUNTS, seed=0)


class TestWord2Vec:
    @pytest.mark.parametrize("lr", [float("nan"), -0.025, 0.0])
    def test_lr_is_checked_when_the_config_is_built(self, lr):  # nan gave NaN vectors and an empty history
        with pytest.raises(ValueError, match=r"Word2VecConfig.lr must be a positive, finite learning rate.*lr=0.025"):
            Word2VecConfig(20, lr=lr)

    @pytest.mark.parametrize("field, value, fix", [
        ("batch_size", 0, "batch_size=512"), ("window", 0, "window=5"), ("dim", 0, "dim=100"),
        ("negatives", 0, "loss='hs'"), ("max_row_updates", 0.0, "None to disable the cap"),
        ("min_lr_fraction", 2.0, "min_lr_fraction=1e-4"), ("sample", -1.0, "0 to keep every word")])
    def test_config_fields(self, field, value, fix):
        with pytest.raises(ValueError, match=rf"Word2VecConfig.{field} .*{fix}"):
            Word2VecConfig(20, **{field: value})

    def test_a_diverging_run_is_caught_before_returning(self):
        # fewer than log_every=50 batches: the loss is never read, the vectors are checked after the epoch
        with pytest.raises(FloatingPointError, match="NaN or infinite.*lower Word2VecConfig.lr"):
            train_word2vec(word2vec(lr=1e30, max_row_updates=None), IDS, epochs=1)

    def test_float_ids_are_refused_not_truncated(self):
        with pytest.raises(TypeError, match=r"integer word ids, got dtype float64; encode the words with the vocab"):
            train_word2vec(word2vec(), IDS + 0.7, epochs=1)

    @pytest.mark.parametrize("bad", [-1, 20])
    def test_ids_outside_the_vocabulary(self, bad):  # -1 wrapped around to the last word
        with pytest.raises(ValueError, match=rf"the id {bad}, outside the vocabulary 0..19; encode the corpus with "
                                             "the same vocabulary"):
            train_word2vec(word2vec(), np.append(IDS, bad), epochs=1)

    @pytest.mark.parametrize("kw, match", [
        (dict(epochs=-1), "epochs must be a positive number of passes.*epochs=1"),
        (dict(epochs=0), "epochs must be a positive number of passes.*epochs=1"),
        (dict(epochs=1.5), "epochs must be a positive number of passes.*epochs=1"),
        (dict(budget_s=0), "budget_s must be a positive, finite number of seconds.*budget_s=30"),
        (dict(budget_s=-1.0), "budget_s must be a positive"),
        (dict(budget_s=float("nan")), "budget_s must be a positive"),  # used to run forever
        (dict(epochs=1, log_every=0), "log_every must be a positive number of batches.*log_every=50")])
    def test_training_length(self, kw, match):
        with pytest.raises(ValueError, match=match):
            train_word2vec(word2vec(), IDS, **kw)

    def test_stream_shapes(self):
        with pytest.raises(ValueError, match="ids has 2000 tokens but sent has 10; give one sentence number per token"):
            train_word2vec(word2vec(), IDS, np.zeros(10, dtype=np.int64), epochs=1)
        with pytest.raises(ValueError, match="ids is empty.*skipgram.stream"):
            train_word2vec(word2vec(), [], epochs=1)
        with pytest.raises(ValueError, match="counts has shape .* pass one count per word"):
            Word2Vec(Word2VecConfig(21), COUNTS)
        with pytest.raises(ValueError, match="non-negative, finite count per word.*pass vocab.counts"):
            Word2Vec(Word2VecConfig(20), -COUNTS)

    def test_skipgram_helpers(self):
        sent = np.zeros(len(IDS), dtype=np.int64)
        with pytest.raises(ValueError, match="window must be a positive number of words.*window=5"):
            sg.skipgram_pairs(IDS, sent, 0)
        with pytest.raises(ValueError, match="ids has 2000 tokens but sent has 5"):
            sg.cbow_windows(IDS, sent[:5], 2)
        with pytest.raises(ValueError, match=r"one flat array of ids; pass \[ids\]"):
            sg.stream(IDS)
        with pytest.raises(TypeError, match="integer word ids"):
            sg.stream([np.array([1.5, 2.0])])
        with pytest.raises(ValueError, match="sample must be a finite threshold"):
            sg.keep_probabilities(COUNTS, float("nan"))

    def test_valid_training_is_unchanged(self):
        a, b = word2vec(), word2vec()
        torch.manual_seed(0)  # the noise words come from torch's global generator
        train_word2vec(a, IDS, epochs=1, seed=3)
        torch.manual_seed(0)
        train_word2vec(b, IDS.tolist(), epochs=1, seed=3)  # a list of ints is the same stream
        assert torch.equal(a.W_in, b.W_in) and torch.isfinite(a.W_in).all()
