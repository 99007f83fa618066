import matplotlib

matplotlib.use("Agg")

import html  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
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


def overlapping_pairs(fig) -> int:
    """How many pairs of the figure's word labels overlap on the canvas."""
    renderer = fig.canvas.get_renderer()
    boxes = [text.get_window_extent(renderer) for text in fig.axes[0].texts]
    return sum(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_embedding_map_moves_overlapping_labels_apart_the_same_way_each_time():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 5, (4, 6))
    x = np.vstack([c + rng.normal(0, 0.05, (6, 6)) for c in centres])  # 4 tight clusters of 6 words
    words = [f"word{i}" for i in range(24)]
    fig = viz.embedding_map(x, texts=words)
    fig.canvas.draw()
    assert overlapping_pairs(fig) <= 2  # placed at their points, the labels of each cluster would pile up
    again = viz.embedding_map(x, texts=words)
    assert [t.get_position() for t in fig.axes[0].texts] == [t.get_position() for t in again.axes[0].texts]


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


def test_text_explorer_answers_and_reports_errors(monkeypatch):
    monkeypatch.setenv("PTM_STATIC", "0")
    answers = []

    def respond(text):
        if text == "bad":
            raise KeyError("'bad' is not in the vocabulary")
        answers.append(text)
        return text.upper()

    ui = viz.text_explorer(respond, "Echo", initial="hi", examples=["there", "hi"])
    box, out = ui.children
    assert list(box.options) == ["hi", "there"]  # the prepared inputs are offered as suggestions
    box.value = "bad"  # shows the message in the output area instead of raising
    box.value = "there"
    assert answers == ["hi", "there"]


VIEW_ID = re.compile(r"ptm-explorer-\d+")


def options(markup: str, select_class: str) -> list[str]:
    """The texts of the options of the view's ``<select class=select_class>``."""
    select = re.search(rf'<select id="[^"]+" class="{select_class}">(.*?)</select>', markup).group(1)
    return [html.unescape(text) for text in re.findall(r"<option [^>]*>(.*?)</option>", select)]


def embedded_data(markup: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" class="ptm-data">(.*?)</script>', markup).group(1))


def heatmap_cells(markup: str) -> list[tuple[int, int, int]]:
    """The background colours of the heatmap's cells, row by row, as the page shows them without JavaScript."""
    return [tuple(map(int, rgb)) for rgb in re.findall(r'<td style="background:rgb\((\d+),(\d+),(\d+)\)"', markup)]


def echo_table(text):
    if text == "bad":
        raise KeyError("'bad' is not in the vocabulary")
    if text.startswith("plot"):
        fig, ax = plt.subplots()
        ax.plot([1, 2, 3])
        return fig
    if text.startswith("styled"):
        return pd.DataFrame({"word": [text]}).style.highlight_max()
    if text.startswith("plain"):
        return f"<{text}>"
    return pd.DataFrame({"word": [text, text.upper()]})


def test_text_explorer_static_view_holds_every_prepared_response(monkeypatch, capsys):
    monkeypatch.setenv("PTM_STATIC", "1")
    examples = ["election", "bad", "plot it", "plain text", "election", "styled"]
    view = viz.text_explorer(echo_table, "Nearest neighbours of", initial="the bank", examples=examples)
    markup = view._repr_html_()
    assert options(markup, "ptm-input") == ["the bank", "election", "bad", "plot it", "plain text", "styled"]
    assert '<label for="' + VIEW_ID.search(markup).group(0) + '-input">Nearest neighbours of:</label>' in markup
    for text in ("the bank", "election"):
        assert echo_table(text)._repr_html_() in markup
    assert "&#x27;bad&#x27; is not in the vocabulary" in markup  # the error's message, as the live box shows it
    assert re.search(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]{200,}" alt="Nearest neighbours of plot it"',
                     markup)
    assert "<pre>&lt;plain text&gt;</pre>" in markup
    assert plt.get_fignums() == []  # the rendered figure was closed
    responses = re.findall(r'<div class="ptm-response"( hidden)?>', markup)
    assert responses == ["", " hidden", " hidden", " hidden", " hidden", " hidden"]  # the first shows without JS
    assert "interactive explorer" not in capsys.readouterr().out


def test_text_explorer_static_view_is_deterministic(monkeypatch):
    monkeypatch.setenv("PTM_STATIC", "1")
    first, second = (viz.text_explorer(echo_table, "Word:", initial="a", examples=["styled", "plot"]).html
                     for _ in range(2))
    first_id, second_id = VIEW_ID.search(first).group(0), VIEW_ID.search(second).group(0)
    assert first_id != second_id
    assert first.replace(first_id, "ID") == second.replace(second_id, "ID")  # the Styler's ids included
    assert f"#{first_id} " in first and not re.search(r"<style>[^<]*#(?!" + first_id + r"\b)", first)


def test_text_explorer_static_needs_an_input(monkeypatch):
    monkeypatch.setenv("PTM_STATIC", "1")
    with pytest.raises(ValueError, match=r"no text to answer: pass initial='...' or examples="):
        viz.text_explorer(echo_table, "Word:")
    with pytest.raises(TypeError, match=r"examples must be a list of texts, e.g. examples=\['a text'"):
        viz.text_explorer(echo_table, "Word:", examples="election")
    with pytest.raises(TypeError, match=r"must be texts \(str\), got \[3\]"):
        viz.text_explorer(echo_table, "Word:", initial="a", examples=[3])


def attention(layers=2, heads=3, T=5):
    a = torch.rand(layers, 1, heads, T, T)
    return list((a / a.sum(-1, keepdim=True)).unbind(0))


def test_attention_grid_draws_every_layer_and_head_numbered_from_1():
    fig = viz.attention_grid(attention(), tokens=list("abcde"), suptitle="s")
    assert len(fig.axes) == 6 and all(ax.images for ax in fig.axes)
    assert [t.get_text() for t in fig.axes[3].get_xticklabels()] == list("abcde")  # the bottom row
    assert [t.get_text() for t in fig.axes[3].get_yticklabels()] == list("abcde")  # the left column
    assert fig.axes[0].get_xticklabels() == [] and fig.axes[4].get_yticklabels() == []  # inner panels unlabelled
    assert [ax.get_title() for ax in fig.axes[:3]] == ["head 1", "head 2", "head 3"]
    assert [fig.axes[0].get_ylabel(), fig.axes[3].get_ylabel()] == ["layer 1", "layer 2"]
    with pytest.raises(ValueError, match="4 tokens for attention maps over 5 positions; pass the tokens"):
        viz.attention_grid(attention(), tokens=list("abcd"))
    with pytest.raises(ValueError, match="need_weights=True"):
        viz.attention_grid([])


def test_attention_grid_draws_the_chosen_layers_and_heads():
    maps = attention(layers=6, heads=12)
    fig = viz.attention_grid(maps, layers=[1, 3, 6], heads=[1, 5, 9, 12])
    assert len(fig.axes) == 12
    assert [ax.get_title() for ax in fig.axes[:4]] == ["head 1", "head 5", "head 9", "head 12"]
    assert [fig.axes[i].get_ylabel() for i in (0, 4, 8)] == ["layer 1", "layer 3", "layer 6"]
    np.testing.assert_allclose(fig.axes[5].images[0].get_array(), maps[2][0, 4].numpy())  # layer 3, head 5
    assert len(viz.attention_grid(maps, layers=2).axes) == 12  # one layer, all its heads


@pytest.mark.parametrize("subset, message", [
    (dict(layers=[0, 1]), r"layers=\[0, 1\], but the model's 6 layers are numbered from 1 to 6 .* \[0\] do not"),
    (dict(heads=[13]), r"heads=\[13\], but the model's 12 heads are numbered from 1 to 12"),
    (dict(heads=[]), r"heads=\[\] is empty"),
    (dict(layers=[2, 2]), r"layers=\[2, 2\] names one twice"),
    (dict(layers="12"), r"layers='12'; give a list of layer numbers \(whole numbers from 1\), e.g. layers=\[1, 6\]"),
    (dict(heads=[1.5]), r"heads=\[1.5\]; give a list of head numbers"),
])
def test_attention_grid_rejects_layers_and_heads_that_do_not_exist(subset, message):
    with pytest.raises(ValueError, match=message):
        viz.attention_grid(attention(layers=6, heads=12), **subset)


def test_attention_explorer_offers_every_layer_and_head_from_1():
    markup = viz.attention_explorer(attention(layers=6, heads=12), list("abcde")).html
    assert options(markup, "ptm-layer") == [str(n) for n in range(1, 7)]
    assert options(markup, "ptm-head") == [str(n) for n in range(1, 13)]
    view_id = VIEW_ID.search(markup).group(0)
    for what in ("layer", "head"):  # each menu has its label
        assert f'<label for="{view_id}-{what}">{what.capitalize()}</label>' in markup
        assert f'<select id="{view_id}-{what}"' in markup
    assert "ipywidgets" not in markup and "http" not in markup  # self-contained: no CDN, no widget


def test_attention_explorer_embeds_the_maps_to_3_decimals():
    maps = attention(layers=3, heads=4, T=6)
    tokens = ["<s>", "the", "</w>", "a&b", "x", "<e>"]
    markup = viz.attention_explorer(maps, tokens).html
    assert "</w>" not in markup.split('class="ptm-data">')[1].split("</script>")[0]  # cannot end the script early
    data = embedded_data(markup)
    assert data["tokens"] == tokens
    weights = np.array(data["weights"]) / data["scale"]
    np.testing.assert_allclose(weights, torch.stack(maps)[:, 0].numpy(), atol=5e-4)


def test_attention_explorer_shows_layer_1_head_1_without_javascript():
    maps = attention(layers=2, heads=3, T=5)
    markup = viz.attention_explorer(maps, list("abcde")).html
    assert re.search(r'<caption><span class="ptm-which">Layer 1, head 1</span>', markup)
    assert re.findall(r'<th scope="col"><span>(.*?)</span></th>', markup) == list("abcde")
    assert re.findall(r'<th scope="row">(.*?)</th>', markup) == list("abcde")
    viridis = plt.get_cmap("viridis")(maps[0][0, 0].numpy().ravel())[:, :3] * 255
    np.testing.assert_allclose(heatmap_cells(markup), viridis, atol=3)  # the colours of layer 1, head 1
    titles = re.findall(r'title="([^"]*)"', markup)
    assert html.unescape(titles[1]) == f"a → b: {float(maps[0][0, 0, 0, 1]):.3f}"


def test_attention_explorer_is_deterministic_and_small():
    torch.manual_seed(0)
    maps = attention(layers=6, heads=12, T=20)
    tokens = [f"tok{i}" for i in range(20)]
    first, second = viz.attention_explorer(maps, tokens).html, viz.attention_explorer(maps, tokens).html
    first_id, second_id = VIEW_ID.search(first).group(0), VIEW_ID.search(second).group(0)
    assert first_id != second_id  # two explorers on one page do not clash
    assert first.replace(first_id, "ID") == second.replace(second_id, "ID")
    assert f'getElementById("{first_id}")' in first
    assert len(first.encode()) < 150_000


@pytest.mark.parametrize("maps, tokens, message", [
    (attention(), list("abcd"), "4 tokens for attention maps over 5 positions"),
    (attention(), "abcde", "5 tokens for attention maps over 5 positions"),  # a string is not a token list
    ([torch.full((1, 2, 3, 3), float("nan"))], list("abc"), "NaN or inf"),
    ([torch.randn(1, 2, 3, 3) * 5], list("abc"), r"lie in \[0, 1\].*not scores or logits"),
])
def test_attention_explorer_bad_inputs(maps, tokens, message):
    with pytest.raises(ValueError, match=message):
        viz.attention_explorer(maps, tokens)


def test_explorer_view_shows_once_per_cell(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda data, raw: shown.append(data))
    view = viz.ExplorerView("<b>view</b>", "[view]")
    monkeypatch.setattr(viz, "_execution_count", lambda: 7)
    view._ipython_display_()  # the explorer displays it...
    view._ipython_display_()  # ...and the same cell returns it: not shown twice
    monkeypatch.setattr(viz, "_execution_count", lambda: 8)
    view._ipython_display_()  # a later cell shows it again
    assert shown == [{"text/html": "<b>view</b>", "text/plain": "[view]"}] * 2
    assert view._repr_html_() == "<b>view</b>" and repr(view) == "[view]"


CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic"]


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (Debian's chromium package)")
def test_explorers_work_in_a_browser(tmp_path, monkeypatch):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    monkeypatch.setenv("PTM_STATIC", "1")
    maps = attention(layers=2, heads=3, T=5)
    attention_view = viz.attention_explorer(maps, list("abcde"))
    text_view = viz.text_explorer(echo_table, "Word:", initial="first", examples=["second"])
    page_file = tmp_path / "page.html"
    page_file.write_text(f"<!doctype html><meta charset='utf-8'><body>{attention_view.html}{text_view.html}")
    cells = ("Array.from(document.querySelectorAll('.ptm-attention tbody td'), "
             "td => getComputedStyle(td).backgroundColor)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(page_file.as_uri())
            head_1 = page.evaluate(cells)
            page.select_option(".ptm-attention select.ptm-head", "3")
            head_3 = page.evaluate(cells)
            page.hover(".ptm-attention tbody tr:nth-child(2) td:nth-of-type(4)")
            readout = page.inner_text(".ptm-attention .ptm-readout")
            caption = page.inner_text(".ptm-attention .ptm-which")
            page.select_option(".ptm-text select.ptm-input", "1")
            visible = page.evaluate("Array.from(document.querySelectorAll('.ptm-response'), div => !div.hidden)")
        finally:
            browser.close()
    assert errors == []
    expected = [f"rgb({r}, {g}, {b})" for r, g, b in heatmap_cells(attention_view.html)]
    assert head_1 == expected and head_3 != head_1
    data = np.array(embedded_data(attention_view.html)["weights"])
    assert [f"rgb({', '.join(map(str, viz._PALETTE[(w * 255 + 500) // 1000]))})" for w in data[0, 2].ravel()] == head_3
    assert readout == f"b → d: {data[0, 2, 1, 3] / 1000:.3f}" and caption == "Layer 1, head 3"
    assert visible == [False, True]
