import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ptm_lib import viz  # noqa: E402
from ptm_lib.train import History  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def history(offset=0.0):
    return History(train=[{"step": s, "epoch": 0, "loss": 1 / s + offset} for s in range(1, 6)],
                   val=[{"step": 5, "accuracy": 0.9}])


def test_plot_history_draws_one_line_per_run():
    fig = viz.plot_history({"a": history(), "b": history(0.1)})
    assert isinstance(fig, Figure)
    lines = fig.axes[0].get_lines()
    assert len(lines) == 2 and list(lines[1].get_ydata()) == pytest.approx([1 / s + 0.1 for s in range(1, 6)])
    assert viz.plot_history(history(), "accuracy", split="val").axes[0].get_ylabel() == "val accuracy"


def test_project_2d_shapes_and_errors():
    x = np.random.default_rng(0).normal(size=(40, 60))
    assert viz.project_2d(x, "pca").shape == (40, 2)
    assert viz.project_2d(torch.tensor(x), "tsne").shape == (40, 2)
    with pytest.raises(ValueError, match="'pca' or 'tsne'"):
        viz.project_2d(x, "umap")
    with pytest.raises(ValueError, match="n >= 3"):
        viz.project_2d(x[:2])


def test_pca_map_separates_two_clusters():
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(0, 0.1, (20, 5)), rng.normal(5, 0.1, (20, 5))])
    points = viz.project_2d(x)
    assert abs(points[:20, 0].mean() - points[20:, 0].mean()) > 5


def test_embedding_map_labels_and_texts():
    x = np.random.default_rng(0).normal(size=(12, 4))
    fig = viz.embedding_map(x, labels=["a", "b"] * 6, texts=[f"w{i}" for i in range(12)])
    ax = fig.axes[0]
    assert len(ax.collections) == 2 and len(ax.texts) == 12
    with pytest.raises(ValueError, match="3 labels for 12 vectors; give one label per vector"):
        viz.embedding_map(x, labels=["a", "b", "c"])


def test_heatmap_labels_and_annotations():
    fig = viz.heatmap(np.eye(3), row_labels="abc", col_labels="xyz", annotate=True, title="t")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    assert len(ax.texts) == 9 and ax.get_title() == "t"
    with pytest.raises(ValueError, match="2 row labels for 3 rows; give one label per row"):
        viz.heatmap(np.eye(3), row_labels="ab")
    with pytest.raises(ValueError, match="2-D"):
        viz.heatmap(np.ones(3))


def test_image_grid_layout_and_errors():
    fig = viz.image_grid(torch.rand(10, 1, 8, 8), titles=[str(i) for i in range(10)], ncols=4, symmetric=True)
    assert len(fig.axes) == 12 and sum(bool(a.images) for a in fig.axes) == 10
    with pytest.raises(ValueError, match="2 titles for 3 images; give one title per image"):
        viz.image_grid(np.zeros((3, 4, 4)), titles=["a", "b"])
    with pytest.raises(ValueError, match=r"\(n, h, w\)"):
        viz.image_grid(np.zeros((4, 4)))


def test_text_explorer_is_a_note_in_static_mode(monkeypatch, capsys):
    monkeypatch.setenv("PTM_STATIC", "1")
    assert viz.text_explorer(lambda text: text.upper(), "Echo") is None
    assert "interactive explorer" in capsys.readouterr().out


def test_text_explorer_answers_and_reports_errors(monkeypatch):
    monkeypatch.setenv("PTM_STATIC", "0")
    answers = []

    def respond(text):
        if text == "bad":
            raise KeyError("'bad' is not in the vocabulary")
        answers.append(text)
        return text.upper()

    ui = viz.text_explorer(respond, "Echo", initial="hi")
    box, out = ui.children
    box.value = "bad"  # shows the message in the output area instead of raising
    box.value = "there"
    assert answers == ["hi", "there"]


def attention(layers=2, heads=3, T=5):
    a = torch.rand(layers, 1, heads, T, T)
    return list((a / a.sum(-1, keepdim=True)).unbind(0))


def test_attention_grid_draws_every_layer_and_head():
    fig = viz.attention_grid(attention(), tokens=list("abcde"), suptitle="s")
    assert len(fig.axes) == 6 and all(ax.images for ax in fig.axes)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == list("abcde")
    with pytest.raises(ValueError, match="4 tokens for attention maps over 5 positions; pass the tokens"):
        viz.attention_grid(attention(), tokens=list("abcd"))
    with pytest.raises(ValueError, match="need_weights=True"):
        viz.attention_grid([])


def test_attention_explorer_static_and_live(monkeypatch, capsys):
    monkeypatch.setenv("PTM_STATIC", "1")
    assert viz.attention_explorer(attention(), list("abcde")) is None
    assert "interactive explorer" in capsys.readouterr().out
    monkeypatch.setenv("PTM_STATIC", "0")
    ui = viz.attention_explorer(attention(), list("abcde"))
    layer, head = ui.children[0].children
    head.value = 2  # redraws without error
    assert list(layer.options) == [0, 1] and list(head.options) == [0, 1, 2]
