"""Bad inputs to ptm_lib.runtime (environment variables, threads, seeds, presets) and
ptm_lib.viz (plots with wrong counts, empty inputs): a clear error naming the fix, and no
half-done work (a seed that fails seeds nothing)."""

from __future__ import annotations

import random
import warnings

import matplotlib
import numpy as np
import pytest
import torch

from ptm_lib import runtime, viz
from ptm_lib.train import History

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    matplotlib.pyplot.close("all")


@pytest.fixture
def threads_restored():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def history(**records) -> History:
    h = History()
    for split, rows in records.items():
        getattr(h, split).extend(rows)
    return h


class TestRuntime:
    @pytest.mark.parametrize("value", ["0", "-2"])
    def test_ptm_threads_below_one_names_the_variable(self, value, monkeypatch, threads_restored):
        monkeypatch.setenv("PTM_THREADS", value)
        with pytest.raises(ValueError, match=rf"PTM_THREADS='{value}' must be at least 1.*or unset it"):
            runtime.set_threads()

    def test_an_empty_ptm_threads_means_unset_like_the_other_variables(self, monkeypatch, threads_restored):
        monkeypatch.setenv("PTM_THREADS", " ")
        assert runtime.set_threads() == 1

    @pytest.mark.parametrize("value", ["4", 2.5, True])
    def test_threads_that_are_not_a_whole_number(self, value, threads_restored):
        with pytest.raises(TypeError, match=r"The number of threads must be a whole number \(e\.g\. 1 or 4\), got"):
            runtime.set_threads(value)

    def test_numpy_integers_are_whole_numbers(self, threads_restored):
        assert runtime.set_threads(np.int64(1)) == 1
        runtime.seed_everything(np.int64(3))

    @pytest.mark.parametrize("seed, error", [(-1, ValueError), (2**32, ValueError), (1.5, TypeError),
                                             ("0", TypeError)])
    def test_a_bad_seed_is_refused_before_anything_is_seeded(self, seed, error):
        random.seed(7)
        state = random.getstate()
        with pytest.raises(error, match=r"[Tt]he seed .*(2\*\*32 - 1|whole number).*e\.g\. 0 or 42"):
            runtime.seed_everything(seed)
        assert random.getstate() == state  # Python's generator was not reseeded halfway

    def test_presets_must_be_dicts(self):
        with pytest.raises(TypeError, match=r"Each preset must be a dict of settings, e\.g\. cpu="):
            runtime.preset("cpu", cpu=[1], gpu=[1])


class TestViz:
    def test_plot_history_needs_at_least_one_history(self):
        with pytest.raises(ValueError, match="got an empty dict: give at least one History"):
            viz.plot_history({})

    def test_plot_history_of_a_list_says_to_name_the_runs(self):
        h = history(train=[{"step": 1, "loss": 1.0}])
        with pytest.raises(TypeError, match=r"one History or a dict \{name: History\}, got list"):
            viz.plot_history([h, h])

    def test_plot_history_split_and_empty_history(self):
        h = history(train=[{"step": 1, "loss": 1.0}])
        with pytest.raises(ValueError, match=r"split='test'; use 'train' or 'val'"):
            viz.plot_history(h, split="test")
        with pytest.raises(ValueError, match=r"has no val records yet; plot it after fit\(\) has run with evaluate="):
            viz.plot_history(h, "accuracy", split="val")

    @pytest.mark.parametrize("shape", [(0, 0), (0, 3)])
    def test_heatmap_of_an_empty_matrix(self, shape):
        with pytest.raises(ValueError, match=r"heatmap needs a non-empty 2-D matrix, got shape"):
            viz.heatmap(np.zeros(shape), annotate=True)

    def test_heatmap_format_that_cannot_format_the_values(self):
        with pytest.raises(ValueError, match=r"fmt='\{:d\}' cannot format the matrix's values.*use e\.g\."):
            viz.heatmap(np.zeros((2, 2)), annotate=True, fmt="{:d}")

    def test_heatmap_of_all_nan_annotates_without_runtime_warnings(self):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            viz.heatmap(np.full((2, 2), np.nan), annotate=True)

    @pytest.mark.parametrize("ncols", [0, -1, 2.5])
    def test_image_grid_columns(self, ncols):
        with pytest.raises(ValueError, match=rf"ncols={ncols!r}; give a whole number of columns of at least 1"):
            viz.image_grid(np.zeros((3, 4, 4)), ncols=ncols)

    @pytest.mark.parametrize("draw", [lambda size: viz.image_grid(np.zeros((2, 4, 4)), size=size),
                                      lambda size: viz.attention_grid([torch.rand(2, 4, 4)], size=size)])
    @pytest.mark.parametrize("size", [0, -1.0, float("nan")])
    def test_panel_size_must_be_positive(self, draw, size):
        with pytest.raises(ValueError, match=r"size=.*give the inches per panel as a positive number"):
            draw(size)

    def test_attention_layers_of_different_lengths(self):
        with pytest.raises(ValueError, match=r"differ in shape.*one model on one sequence"):
            viz.attention_grid([torch.rand(2, 4, 4), torch.rand(2, 3, 3)])

    def test_embedding_map_names_the_rows_with_nan(self):
        vectors = np.random.default_rng(0).normal(size=(6, 3))
        vectors[[1, 4], 0] = np.nan
        with pytest.raises(ValueError, match=r"2 of the 6 vectors hold NaN or inf \(rows \[1, 4\]\); drop those rows"):
            viz.embedding_map(vectors)

    def test_text_explorer_needs_a_function(self, monkeypatch):
        monkeypatch.setenv("PTM_STATIC", "1")
        with pytest.raises(TypeError, match="respond must be a function of the text, got NoneType"):
            viz.text_explorer(None, "word:")
