"""Plots the chapters share: learning curves, embedding maps, heatmaps, image grids and attention,
and the explorers that let a reader try a model.

Each plotting function draws with matplotlib and returns the :class:`~matplotlib.figure.Figure`
(or draws into an ``ax`` you pass), so a notebook shows it and a test can check it.

The explorers work in the static HTML book as well as in a kernel:

* :func:`attention_explorer` is always a self-contained HTML+JS view (menus for layer and head
  over a heatmap table, the maps embedded as JSON): the same in Jupyter, Colab and the book.
* :func:`text_explorer` is an ipywidgets text box in a live kernel; with ``PTM_STATIC=1`` (the
  saved book and CI) it answers its prepared inputs ahead of time and becomes an HTML view with
  a menu of them.

Both views are :class:`ExplorerView` objects with deterministic element ids (a counter, not a
uuid), so a fresh run of a notebook writes the same HTML as the saved one.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import json
import numbers
import os
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .train import History

# Fonts with Chinese characters, in order of preference: Noto Sans CJK (Debian's and Ubuntu's
# fonts-noto-cjk, which CI installs), then the common system fonts of other platforms.
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Serif CJK SC", "Source Han Sans SC",
                "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "PingFang SC", "Microsoft YaHei", "SimHei",
                "Heiti SC", "Arial Unicode MS")


def cjk_font() -> str:
    """The family name of an installed font with Chinese characters, for matplotlib text:
    ``ax.set_title("南京市长江大桥", fontfamily=cjk_font())``. matplotlib's default font
    (DejaVu Sans) has none, so Chinese labels would be drawn as empty boxes. A font that
    fontconfig knows (``fc-list :lang=zh``) but matplotlib's font cache predates is added.
    Raises ``RuntimeError`` naming the package to install when there is none."""
    from matplotlib import font_manager

    def first_installed() -> str | None:
        installed = {font.name for font in font_manager.fontManager.ttflist}
        return next((family for family in CJK_FAMILIES if family in installed), None)

    found = first_installed()
    if found is None:
        for path in _fontconfig_cjk_files():
            font_manager.fontManager.addfont(path)
        found = first_installed()
    if found is None:
        raise RuntimeError(
            "No font with Chinese characters is installed, so matplotlib would draw Chinese labels as empty boxes. "
            "Install one and restart the kernel: on Debian, Ubuntu and Colab `apt-get install fonts-noto-cjk`; "
            "macOS and Windows have one already (PingFang SC, Microsoft YaHei).")
    return found


def _fontconfig_cjk_files() -> list[str]:
    """The font files fontconfig lists for Chinese (none where fontconfig is missing)."""
    import shutil
    import subprocess

    if shutil.which("fc-list") is None:
        return []
    listing = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True).stdout
    return sorted({line.split(":")[0].strip() for line in listing.splitlines() if line.strip()})


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, ax


def _as_numpy(x) -> np.ndarray:
    """A NumPy copy of an array or a (possibly CUDA, possibly grad-tracking) tensor."""
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x)


def plot_history(
    histories: History | Mapping[str, History],
    metric: str = "loss",
    split: str = "train",
    ax: Axes | None = None,
    logy: bool = False,
) -> Figure:
    """Learning curves: ``metric`` against step for one history or a dict of named ones."""
    if isinstance(histories, History):
        histories = {"": histories}
    _check_histories(histories, split)
    fig, ax = _axes(ax, (6, 3.5))
    for name, history in histories.items():
        steps, values = history.series(metric, split)
        ax.plot(steps, values, marker="o" if len(steps) < 20 else None, label=name or None)
    ax.set(xlabel="step", ylabel=f"{split} {metric}")
    if logy:
        ax.set_yscale("log")
    if any(histories):
        ax.legend()
    ax.grid(alpha=0.3)
    return fig


def _check_histories(histories, split: str) -> None:
    """Raise a clear error unless ``histories`` is a non-empty ``{name: History}`` with records in ``split``."""
    if split not in ("train", "val"):
        raise ValueError(f"split={split!r}; use 'train' or 'val'.")
    if not isinstance(histories, Mapping) or not all(isinstance(h, History) for h in histories.values()):
        raise TypeError(f"plot_history takes one History or a dict {{name: History}}, got {type(histories).__name__}; "
                        "name the runs, e.g. plot_history({'small': h1, 'large': h2}).")
    if not histories:
        raise ValueError("plot_history got an empty dict: give at least one History.")
    empty = [name or "the history" for name, h in histories.items() if not getattr(h, split)]
    if empty:
        raise ValueError(f"{', '.join(map(str, empty))} has no {split} records yet; plot it after fit() has run"
                         + (" with evaluate= and eval_every=." if split == "val" else "."))


def project_2d(vectors, method: str = "pca", seed: int = 0) -> np.ndarray:
    """Project ``(n, d)`` vectors to ``(n, 2)`` with PCA or t-SNE (scikit-learn).

    t-SNE first reduces to 50 dimensions with PCA, the usual recipe, and sets its
    perplexity below the number of points so small sets work too.
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    x = _as_numpy(vectors).astype(np.float64)
    if x.ndim != 2 or len(x) < 3:
        raise ValueError(f"Need an (n, d) array with n >= 3 to project, got shape {x.shape}.")
    bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
    if len(bad):
        raise ValueError(f"{len(bad)} of the {len(x)} vectors hold NaN or inf (rows {bad[:5].tolist()}); "
                         "drop those rows or fix what produced them.")
    if method == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(x)
    if method == "tsne":
        if x.shape[1] > 50:
            x = PCA(n_components=min(50, len(x)), random_state=seed).fit_transform(x)
        perplexity = min(30.0, (len(x) - 1) / 3)
        return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(x)
    raise ValueError(f"method={method!r}; use 'pca' or 'tsne'.")


def embedding_map(
    vectors,
    labels: Sequence | None = None,
    texts: Sequence[str] | None = None,
    method: str = "pca",
    ax: Axes | None = None,
    title: str | None = None,
    seed: int = 0,
    legend: bool = True,
) -> Figure:
    """Scatter ``(n, d)`` vectors in 2-D, coloured by ``labels`` and annotated by ``texts``.

    Use ``texts`` for a few dozen words (chapters 2-4) and ``labels`` for many points
    of a few classes (chapter 1's image features). Word labels that would overlap are moved
    apart (adjustText, a fixed number of iterations, so the same map every run), with a thin
    line back to their point; when you pass ``ax``, draw the rest of the figure first.
    """
    points = project_2d(vectors, method, seed)
    if texts is not None and len(texts) != len(points):
        raise ValueError(f"{len(texts)} texts for {len(points)} vectors; give one text per vector (row).")
    fig, ax = _axes(ax, (6, 5))
    if labels is None:
        ax.scatter(points[:, 0], points[:, 1], s=12)
    else:
        labels = np.asarray(labels)
        if len(labels) != len(points):
            raise ValueError(f"{len(labels)} labels for {len(points)} vectors; give one label per vector (row).")
        cmap = plt.get_cmap("tab10" if len(np.unique(labels)) <= 10 else "tab20")
        for i, label in enumerate(np.unique(labels)):
            keep = labels == label
            ax.scatter(points[keep, 0], points[keep, 1], s=8, color=cmap(i % cmap.N), label=str(label))
        if legend:
            ax.legend(markerscale=2, fontsize="small", loc="best", ncols=2)
    ax.set(xticks=[], yticks=[], title=title or method.upper())
    if texts is not None:
        _label_points(ax, points, texts)
    return fig


def _label_points(ax: Axes, points: np.ndarray, texts: Sequence) -> None:
    """Write each text by its point, then move overlapping labels apart (adjustText).

    Call it last (adjustText reads the axes' final size). A fixed number of iterations,
    not a time limit, keeps the result the same on every machine; a thin line joins a
    label that moved away to its point.
    """
    from adjustText import adjust_text

    labels = [ax.text(x, y, str(text), fontsize=9) for (x, y), text in zip(points, texts)]
    legend = ax.get_legend()
    adjust_text(labels, ax=ax, objects=[legend] if legend else None, iter_lim=_ADJUST_ITERATIONS,
                expand=(1.1, 1.3), arrowprops=dict(arrowstyle="-", color="0.55", lw=0.5))


_ADJUST_ITERATIONS = 100  # adjustText's moves of the word labels (deterministic, unlike its default time limit)


def heatmap(
    matrix,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    cmap: str = "viridis",
    annotate: bool = False,
    fmt: str = "{:.2f}",
    colorbar: bool = True,
) -> Figure:
    """A labelled heatmap for attention, similarity or confusion matrices."""
    m = _as_numpy(matrix)
    if m.ndim != 2 or m.size == 0:
        raise ValueError(f"heatmap needs a non-empty 2-D matrix, got shape {m.shape}.")
    for labels, size, what in ((row_labels, m.shape[0], "row"), (col_labels, m.shape[1], "column")):
        if labels is not None and len(labels) != size:
            raise ValueError(f"{len(labels)} {what} labels for {size} {what}s; "
                             f"give one label per {what} of the matrix.")
    fig, ax = _axes(ax, (0.4 * m.shape[1] + 2, 0.4 * m.shape[0] + 1.5))
    image = ax.imshow(m, cmap=cmap, aspect="auto")
    if row_labels is not None:
        ax.set_yticks(range(len(row_labels)), [str(s) for s in row_labels])
    if col_labels is not None:
        ax.set_xticks(range(len(col_labels)), [str(s) for s in col_labels], rotation=90)
    if annotate:
        _check_format(fmt, m.flat[0])
        all_nan = np.isnan(m.astype(float)).all()  # nothing to scale the text colour by
        middle = 0 if all_nan else (np.nanmax(m) + np.nanmin(m)) / 2
        for (i, j), value in np.ndenumerate(m):
            ax.text(j, i, fmt.format(value), ha="center", va="center", fontsize=8,
                    color="black" if value > middle else "white")
    if colorbar:
        fig.colorbar(image, ax=ax, shrink=0.8)
    if title:
        ax.set_title(title)
    return fig


def _check_format(fmt: str, value) -> None:
    """Raise a clear error if ``fmt.format(value)`` fails (e.g. ``"{:d}"`` for floats)."""
    try:
        fmt.format(value)
    except (ValueError, TypeError, IndexError, KeyError) as error:
        raise ValueError(f"fmt={fmt!r} cannot format the matrix's values ({value!r}): {error}; "
                         "use e.g. '{:.2f}'.") from None


def _check_size(size: float, what: str) -> None:
    """Raise a clear error unless ``size`` (inches per panel) is a positive finite number."""
    if isinstance(size, bool) or not isinstance(size, numbers.Real) or not (np.isfinite(size) and size > 0):
        raise ValueError(f"{what}: size={size!r}; give the inches per panel as a positive number, e.g. 1.2.")


def image_grid(
    images,
    titles: Sequence[str] | None = None,
    ncols: int = 8,
    cmap: str = "gray",
    size: float = 1.2,
    suptitle: str | None = None,
    symmetric: bool = False,
) -> Figure:
    """Show ``(n, h, w)`` or ``(n, 1, h, w)`` images in a grid, with optional titles.

    ``symmetric=True`` centres the colour scale on zero for each image, which is how
    learned filters are best read (red positive, blue negative).
    """
    imgs = _as_numpy(images)
    if imgs.ndim == 4 and imgs.shape[1] == 1:
        imgs = imgs[:, 0]
    if imgs.ndim != 3 or len(imgs) == 0:
        raise ValueError(f"image_grid needs (n, h, w) or (n, 1, h, w) images, got shape {imgs.shape}.")
    if titles is not None and len(titles) != len(imgs):
        raise ValueError(f"{len(titles)} titles for {len(imgs)} images; give one title per image, or none.")
    if isinstance(ncols, bool) or not isinstance(ncols, (int, np.integer)) or ncols < 1:
        raise ValueError(f"image_grid: ncols={ncols!r}; give a whole number of columns of at least 1.")
    _check_size(size, "image_grid")
    ncols = min(ncols, len(imgs))
    nrows = -(-len(imgs) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.3 if suptitle else 0)),
                             squeeze=False, layout="constrained")
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(imgs):
            continue
        if symmetric:
            bound = float(np.abs(imgs[i]).max()) or 1.0
            ax.imshow(imgs[i], cmap="RdBu_r", vmin=-bound, vmax=bound)
        else:
            ax.imshow(imgs[i], cmap=cmap)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def _attention_stack(attentions) -> np.ndarray:
    """Per-layer attention as one ``(layers, heads, T, T)`` array (batch row 0 if batched)."""
    layers = [_as_numpy(a) for a in attentions]
    if not layers:
        raise ValueError("No attention maps: run the model with need_weights=True.")
    layers = [a[0] if a.ndim == 4 else a for a in layers]
    if any(a.ndim != 3 or a.shape[-1] != a.shape[-2] for a in layers):
        raise ValueError(f"Attention maps must be (heads, T, T) or (1, heads, T, T) per layer, got "
                         f"{[a.shape for a in layers]}.")
    if len({a.shape for a in layers}) > 1:
        raise ValueError(f"The layers' attention maps differ in shape ({[a.shape for a in layers]}); pass the "
                         "maps of one model on one sequence.")
    return np.stack(layers)


def _pick(name: str, chosen, count: int) -> list[int]:
    """The 0-based indices of ``chosen``, 1-based layer or head numbers (all ``count`` of them if ``None``)."""
    if chosen is None:
        return list(range(count))
    example = f"e.g. {name}=[1, {count}]" if count > 1 else f"{name}=[1]"
    picked = [chosen] if isinstance(chosen, numbers.Integral) and not isinstance(chosen, bool) else chosen
    if isinstance(picked, (str, bytes)) or not isinstance(picked, (Sequence, np.ndarray)) or not all(
            isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in picked):
        raise ValueError(f"attention_grid: {name}={chosen!r}; give a list of {name[:-1]} numbers (whole numbers "
                         f"from 1), {example}.")
    if len(picked) == 0:
        raise ValueError(f"attention_grid: {name}={chosen!r} is empty; give at least one, {example}, "
                         "or None for all of them.")
    outside = [int(n) for n in picked if not 1 <= n <= count]
    if outside:
        raise ValueError(f"attention_grid: {name}={chosen!r}, but the model's {count} {name} are numbered from 1 "
                         f"to {count} (as in the book), so {outside} do not exist; {example}.")
    if len(set(picked)) < len(picked):
        raise ValueError(f"attention_grid: {name}={chosen!r} names one twice; give each at most once.")
    return [int(n) - 1 for n in picked]


def attention_grid(attentions, tokens: Sequence[str] | None = None, size: float = 2.0,
                   suptitle: str | None = None, layers: Sequence[int] | None = None,
                   heads: Sequence[int] | None = None) -> Figure:
    """The layers (rows) and heads (columns) of a model's attention on one sequence.

    ``attentions`` is the list a model returns with ``need_weights=True``: one
    ``(batch, heads, T, T)`` (or ``(heads, T, T)``) tensor per layer; the first batch row is
    drawn. Row ``i`` of each map is where position ``i`` (the query) looks. ``tokens``
    label the outer axes (the bottom row and the left column) when there are few enough of
    them to read (at most 24).

    Layers and heads are numbered from 1, as in the book and in Clark et al. (2019):
    ``layers=[1, 3, 6], heads=[1, 5, 9, 12]`` draws that 3 x 4 subset of a 6 x 12 model,
    which reads better in a book column than all 72 maps (``size=1.7`` fits a 700-pixel column).
    One number (``layers=2``) draws one; ``None`` (the default) draws all.
    """
    maps = _attention_stack(attentions)
    _check_size(size, "attention_grid")
    n_layers, n_heads, T, _ = maps.shape
    if tokens is not None and len(tokens) != T:
        raise ValueError(f"{len(tokens)} tokens for attention maps over {T} positions; pass the tokens of the "
                         "sequence the model read (one per position).")
    rows, columns = _pick("layers", layers, n_layers), _pick("heads", heads, n_heads)
    fig, axes = plt.subplots(len(rows), len(columns), figsize=(size * len(columns), size * len(rows) + 0.4),
                             squeeze=False, layout="constrained")
    readable = tokens is not None and T <= 24
    labels = [str(t) for t in tokens] if readable else []
    for (row, column), ax in np.ndenumerate(axes):
        ax.imshow(maps[rows[row], columns[column]], cmap="viridis", vmin=0, vmax=1)
        bottom, left = readable and row == len(rows) - 1, readable and column == 0  # label the outer edges
        ax.set_xticks(range(T) if bottom else [], labels if bottom else [], rotation=90, fontsize=6)
        ax.set_yticks(range(T) if left else [], labels if left else [], fontsize=6)
        if row == 0:
            ax.set_title(f"head {columns[column] + 1}", fontsize=9)
        if column == 0:
            ax.set_ylabel(f"layer {rows[row] + 1}", fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


# The explorers are self-contained HTML views (no CDN, no ipywidgets): the same markup works in
# Jupyter, Colab and the static HTML book. Their element ids come from a counter, so that a fresh
# run of a notebook writes byte-identical HTML (the notebook tests compare saved and fresh outputs).
_VIEW_IDS = itertools.count(1)
_SCALE = 1000  # attention weights travel as whole thousandths: 0.123 is 123
_PALETTE = [[int(round(255 * c)) for c in rgb[:3]] for rgb in plt.get_cmap("viridis")(np.linspace(0, 1, 256))]
_READOUT_HINT = "Point at (or tap) a cell to read it as query → key: weight."


def _next_view_id() -> str:
    """``ptm-explorer-1``, ``ptm-explorer-2``, ...: ids that repeat in a fresh process, unlike uuids."""
    return f"ptm-explorer-{next(_VIEW_IDS)}"


def _execution_count() -> int | None:
    """The running IPython cell's number, or ``None`` outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return None
    shell = get_ipython()
    return None if shell is None else shell.execution_count


class ExplorerView:
    """A self-contained HTML+JS view (an explorer) that Jupyter, Colab and the HTML book all show.

    ``html`` is its markup (also returned by ``_repr_html_``) and ``text`` the line a plain-text
    front end shows. The explorers display the view as they build it; when the call is also the
    cell's last line, IPython does not show it a second time. Showing it again in a later cell
    (a bare ``view``) works as for any object.
    """

    def __init__(self, html_text: str, text: str):
        self.html = html_text
        self.text = text
        self._shown_in: int | None = None

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text

    def _ipython_display_(self) -> None:
        from IPython.display import display

        count = _execution_count()
        if count is not None and count == self._shown_in:
            return  # already shown by this cell (the explorer displayed it, and it is also the cell's value)
        self._shown_in = count
        display({"text/html": self.html, "text/plain": self.text}, raw=True)


def _json_script(data) -> str:
    """``data`` as JSON in a ``<script type="application/json">``, safe inside HTML (no ``</script>``)."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    return f'<script type="application/json" class="ptm-data">{text}</script>'


def _colour(weight: int) -> str:
    """The CSS colour of a weight in thousandths: viridis from 0 to 1, as the JavaScript computes it."""
    r, g, b = _PALETTE[(weight * (len(_PALETTE) - 1) + _SCALE // 2) // _SCALE]
    return f"rgb({r},{g},{b})"


def _cell_text(query: str, key: str, weight: int) -> str:
    return f"{query} → {key}: {weight / _SCALE:.3f}"


def _select(view_id: str, what: str, count: int) -> str:
    """A labelled ``<select>`` of 1..count."""
    options = "".join(f'<option value="{n}">{n}</option>' for n in range(1, count + 1))
    return (f'<label for="{view_id}-{what}">{what.capitalize()}</label> '
            f'<select id="{view_id}-{what}" class="ptm-{what}">{options}</select>')


def _attention_table(matrix: np.ndarray, tokens: list[str]) -> str:
    """One attention map (whole thousandths) as an HTML table: rows are queries, columns keys."""
    escape = html.escape
    header = "".join(f'<th scope="col"><span>{escape(key)}</span></th>' for key in tokens)
    rows = []
    for query, weights in zip(tokens, matrix.tolist()):
        cells = "".join(f'<td style="background:{_colour(w)}" title="{escape(_cell_text(query, key, w))}"></td>'
                        for key, w in zip(tokens, weights))
        rows.append(f'<tr><th scope="row">{escape(query)}</th>{cells}</tr>')
    caption = ('<caption><span class="ptm-which">Layer 1, head 1</span>: each row (a query) '
               'attends to the columns (the keys)</caption>')
    return (f'<table class="ptm-heatmap">{caption}<thead><tr><th></th>{header}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _attention_style(view_id: str, cell_px: int) -> str:
    """CSS for one attention view, every rule scoped to its id (it overrides the book's table styles)."""
    stops = ",".join(f"rgb({r},{g},{b})" for r, g, b in _PALETTE[::51])
    rules = [
        "{margin:.5em 0;font-size:13px;line-height:1.3}",
        " label{font-weight:600;margin:0 .3em 0 0}",
        " select{margin:0 1.2em 0 0;font-size:13px}",
        " .ptm-scroll{overflow-x:auto;max-width:100%}",
        " table.ptm-heatmap{border-collapse:collapse;border:0;margin:.4em 0;width:auto;table-layout:auto;"
        "color:inherit;background:none}",
        " table.ptm-heatmap tr{background:none}",
        f" table.ptm-heatmap td{{width:{cell_px}px;min-width:{cell_px}px;height:{cell_px}px;padding:0;border:0}}",
        " table.ptm-heatmap td:hover{outline:2px solid #e8175d;outline-offset:-2px}",
        " table.ptm-heatmap th{padding:0 4px;border:0;background:none;font-weight:normal;font-size:12px;"
        "white-space:nowrap;line-height:1.1}",
        " table.ptm-heatmap tbody th{text-align:right}",
        " table.ptm-heatmap thead th{vertical-align:bottom;text-align:center;padding:4px 0}",
        " table.ptm-heatmap thead th span{writing-mode:vertical-rl;transform:rotate(180deg)}",
        " table.ptm-heatmap caption{caption-side:top;text-align:left;padding:0 0 .3em;color:inherit}",
        " .ptm-legend{display:flex;align-items:center;gap:.4em;font-size:12px}",
        " .ptm-legend span{display:inline-block;width:120px;height:10px;"
        f"background:linear-gradient(to right,{stops})}}",
        " .ptm-readout{min-height:1.4em;margin:.3em 0;font-family:monospace}",
    ]
    return _scoped_style(view_id, rules)


def _scoped_style(view_id: str, rules: list[str]) -> str:
    """A ``<style>`` whose every rule is prefixed by ``#view_id``, so views on one page do not clash."""
    return "<style>" + "".join(f"#{view_id}{rule}" for rule in rules) + "</style>"


_ATTENTION_SCRIPT = """(function () {
  var me = document.currentScript;
  var root = (me && me.closest && me.closest(".ptm-explorer")) || document.getElementById("VIEW_ID");
  if (!root || root.getAttribute("data-ready")) return;
  root.setAttribute("data-ready", "yes");
  var data = JSON.parse(root.querySelector("script.ptm-data").textContent);
  var layer = root.querySelector("select.ptm-layer"), head = root.querySelector("select.ptm-head");
  var table = root.querySelector("table.ptm-heatmap"), rows = table.tBodies[0].rows;
  var which = table.querySelector(".ptm-which"), readout = root.querySelector(".ptm-readout");
  var top = data.palette.length - 1;
  function colour(w) {
    return "rgb(" + data.palette[Math.floor((w * top + data.scale / 2) / data.scale)].join(",") + ")";
  }
  function label(i, j, w) {
    return data.tokens[i] + " → " + data.tokens[j] + ": " + (w / data.scale).toFixed(3);
  }
  function chosen() { return data.weights[layer.selectedIndex][head.selectedIndex]; }
  function draw() {
    var map = chosen();
    for (var i = 0; i < rows.length; i++) {
      for (var j = 0; j < map[i].length; j++) {
        var cell = rows[i].cells[j + 1];
        cell.style.background = colour(map[i][j]);
        cell.title = label(i, j, map[i][j]);
      }
    }
    which.textContent = "Layer " + layer.value + ", head " + head.value;
  }
  function show(event) {
    var cell = event.target.closest && event.target.closest("td");
    if (!cell || !table.contains(cell)) return;
    var i = cell.parentNode.sectionRowIndex, j = cell.cellIndex - 1;
    readout.textContent = label(i, j, chosen()[i][j]);
  }
  layer.addEventListener("change", draw);
  head.addEventListener("change", draw);
  table.addEventListener("mouseover", show);
  table.addEventListener("click", show);
  draw();
})();"""


def _attention_weights(attentions) -> np.ndarray:
    """``(layers, heads, T, T)`` attention as whole thousandths, after checking they are weights."""
    maps = _attention_stack(attentions)
    if not np.isfinite(maps).all():
        raise ValueError("The attention maps hold NaN or inf; pass the weights of a model that ran cleanly.")
    low, high = float(maps.min()), float(maps.max())
    if low < -1e-3 or high > 1 + 1e-3:
        raise ValueError(f"Attention weights lie in [0, 1] (softmax outputs), but these run from {low:.3g} to "
                         f"{high:.3g}; pass the weights (need_weights=True), not scores or logits.")
    return np.rint(np.clip(maps, 0, 1) * _SCALE).astype(np.int64)


def attention_explorer(attentions, tokens: Sequence[str]) -> ExplorerView:
    """A layer menu and a head menu over one attention heatmap, as a self-contained HTML view.

    ``attentions`` is the list a model returns with ``need_weights=True`` (one ``(1, heads, T, T)``
    or ``(heads, T, T)`` tensor per layer) and ``tokens`` the ``T`` tokens it read. The view is
    HTML and a little JavaScript with the maps embedded as JSON (whole thousandths), so it works
    the same in Jupyter, Colab and the HTML book, with or without ``PTM_STATIC``: menus for layer
    and head (numbered from 1), a heatmap table (rows are queries, columns keys; viridis from 0
    to 1) and a readout line showing "query → key: weight" for the cell under the pointer.
    Without JavaScript it still shows layer 1, head 1. It is displayed, and also returned.
    """
    weights = _attention_weights(attentions)
    n_layers, n_heads, T, _ = weights.shape
    if isinstance(tokens, str) or len(tokens) != T:
        raise ValueError(f"{len(tokens)} tokens for attention maps over {T} positions; pass the tokens of the "
                         "sequence the model read (one per position).")
    tokens = [str(t) for t in tokens]
    view_id = _next_view_id()
    data = {"tokens": tokens, "scale": _SCALE, "palette": _PALETTE, "weights": weights.tolist()}
    markup = "\n".join([
        f'<div id="{view_id}" class="ptm-explorer ptm-attention">',
        _attention_style(view_id, max(12, min(26, 520 // T))),
        f'<div class="ptm-controls">{_select(view_id, "layer", n_layers)}{_select(view_id, "head", n_heads)}</div>',
        f'<div class="ptm-scroll">{_attention_table(weights[0, 0], tokens)}</div>',
        '<div class="ptm-legend">0 <span></span> 1</div>',
        f'<p class="ptm-readout" aria-live="polite">{html.escape(_READOUT_HINT)}</p>',
        _json_script(data),
        f"<script>{_ATTENTION_SCRIPT.replace('VIEW_ID', view_id)}</script>",
        "</div>",
    ])
    text = (f"[Attention explorer: {n_layers} layers x {n_heads} heads over {T} tokens, "
            "shown as HTML in Jupyter, Colab and the book]")
    return _show(ExplorerView(markup, text))


def _show(view: ExplorerView) -> ExplorerView:
    from IPython.display import display

    display(view)
    return view


def live_widgets() -> bool:
    """Whether :func:`text_explorer` builds its ipywidgets text box: False when ``PTM_STATIC=1``.

    The saved book and CI set ``PTM_STATIC=1``: a widget in a saved notebook shows nothing
    to an HTML reader (there is no kernel behind it), so the text explorer renders its
    prepared inputs ahead of time instead (:func:`attention_explorer` is HTML in every mode).
    """
    return os.environ.get("PTM_STATIC", "0").strip().lower() in {"", "0", "false", "no", "off"}


def _prepared_inputs(initial: str, examples) -> list[str]:
    """``initial`` then ``examples``, without blanks or repeats."""
    if isinstance(examples, str) or not isinstance(examples, (Sequence, np.ndarray)):
        raise TypeError(f"text_explorer's examples must be a list of texts, e.g. examples=['a text', 'another'], "
                        f"got {examples!r}.")
    inputs = [initial, *examples]
    bad = [text for text in inputs if not isinstance(text, str)]
    if bad:
        raise TypeError(f"text_explorer's initial and examples must be texts (str), got {bad!r}.")
    return list(dict.fromkeys(text for text in inputs if text.strip()))


def _figure_html(fig: Figure, alt: str) -> str:
    """``fig`` as an ``<img>`` with a base64 PNG (at the book's 100 dpi); the figure is closed."""
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    finally:
        plt.close(fig)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img src="data:image/png;base64,{encoded}" alt="{html.escape(alt)}" style="max-width:100%;height:auto">'


def _error_message(error: Exception) -> str:
    """What an explorer shows for a ``KeyError``/``ValueError`` from ``respond``: its message, unquoted."""
    return str(error.args[0] if error.args else error)


def _response_html(respond, text: str, label: str, uuid: str) -> str:
    """What ``respond(text)`` shows, as HTML: a figure as a PNG, a table as its HTML, a string as text.

    A ``KeyError`` or ``ValueError`` (an unknown word, say) shows its message, as the live box does.
    """
    try:
        result = respond(text)
    except (KeyError, ValueError) as error:
        return f'<pre class="ptm-error">{html.escape(_error_message(error))}</pre>'
    if isinstance(result, Figure):
        return _figure_html(result, f"{label} {text}")
    if hasattr(result, "set_uuid"):  # a pandas Styler: fix its element ids, which are random otherwise
        result.set_uuid(uuid)
    markup = result._repr_html_() if hasattr(result, "_repr_html_") else None
    if markup is not None:
        return markup
    return f"<pre>{html.escape(result if isinstance(result, str) else repr(result))}</pre>"


_TEXT_SCRIPT = """(function () {
  var me = document.currentScript;
  var root = (me && me.closest && me.closest(".ptm-explorer")) || document.getElementById("VIEW_ID");
  if (!root || root.getAttribute("data-ready")) return;
  root.setAttribute("data-ready", "yes");
  var select = root.querySelector("select.ptm-input"), answers = root.querySelector(".ptm-responses").children;
  function show() {
    for (var k = 0; k < answers.length; k++) answers[k].hidden = k !== select.selectedIndex;
  }
  select.addEventListener("change", show);
  show();
})();"""


def _text_view(respond, description: str, inputs: list[str]) -> ExplorerView:
    """The static text explorer: a menu of the prepared inputs over their responses, rendered now."""
    view_id = _next_view_id()
    label = description.strip().rstrip(":").strip() or "Input"
    options = "".join(f'<option value="{k}">{html.escape(text)}</option>' for k, text in enumerate(inputs))
    answers = "\n".join(f'<div class="ptm-response"{" hidden" if k else ""}>'
                        f'{_response_html(respond, text, label, f"{view_id}-{k}")}</div>'
                        for k, text in enumerate(inputs))
    style = _scoped_style(view_id, ["{margin:.5em 0}", " label{font-weight:600;margin-right:.4em}",
                                    " select{max-width:100%;font-size:14px}", " .ptm-responses{margin-top:.5em}",
                                    " .ptm-response[hidden]{display:none !important}"])
    markup = "\n".join([
        f'<div id="{view_id}" class="ptm-explorer ptm-text">', style,
        f'<label for="{view_id}-input">{html.escape(label)}:</label> '
        f'<select id="{view_id}-input" class="ptm-input">{options}</select>',
        f'<div class="ptm-responses">\n{answers}\n</div>',
        f"<script>{_TEXT_SCRIPT.replace('VIEW_ID', view_id)}</script>",
        "</div>",
    ])
    text = f"[{label}: the responses to {len(inputs)} prepared inputs, shown as HTML in Jupyter, Colab and the book]"
    return ExplorerView(markup, text)


def text_explorer(respond, description: str, placeholder: str = "", initial: str = "", examples: Sequence[str] = ()):
    """An explorer of ``respond(text)``: a free text box in a live kernel, a menu of prepared inputs in the book.

    ``respond`` returns anything displayable: a matplotlib figure, a DataFrame (or Styler), a
    string. A ``KeyError`` or ``ValueError`` it raises (an unknown word, say) is shown as its
    message, not as a traceback.

    * Live kernel (``PTM_STATIC`` unset or 0): an ipywidgets text box (``description`` its label,
      ``placeholder`` its hint, ``examples`` offered as suggestions) that shows ``respond(text)``
      below it each time the reader presses Enter; ``initial`` is answered at once. Returns the widget.
    * ``PTM_STATIC=1`` (the saved book and CI): there is no kernel to answer free text, so each
      prepared input (``initial``, then ``examples``, repeats dropped) is answered now and the
      view is self-contained HTML: a labelled menu of the inputs over their responses (figures as
      PNG images, closed after rendering; tables as their HTML; strings as text), with a line of
      JavaScript that shows the chosen one. It is displayed, and returned (an :class:`ExplorerView`).
      Without ``initial`` or ``examples`` there is nothing to render: a ValueError says so.
    """
    if not callable(respond):
        raise TypeError(f"text_explorer's respond must be a function of the text, got {type(respond).__name__}.")
    inputs = _prepared_inputs(initial, examples)
    if not live_widgets():
        if not inputs:
            raise ValueError("text_explorer with PTM_STATIC=1 renders its responses ahead of time, and it got no "
                             "text to answer: pass initial='...' or examples=['...', ...].")
        return _show(_text_view(respond, description, inputs))
    return _text_box(respond, description, placeholder, initial, inputs)


def _text_box(respond, description: str, placeholder: str, initial: str, suggestions: list[str]):
    """The live explorer: an ipywidgets text box (with suggestions) over ``respond``'s answer."""
    import ipywidgets as widgets
    from IPython.display import display

    box = widgets.Combobox(value=initial, placeholder=placeholder, description=description, options=suggestions,
                           continuous_update=False, layout=widgets.Layout(width="60%"),
                           style={"description_width": "initial"})
    out = widgets.Output()

    def update(change=None):
        out.clear_output(wait=True)
        with out:
            try:
                result = respond(box.value)
            except (KeyError, ValueError) as error:
                print(_error_message(error))
                return
            display(result)
            if isinstance(result, Figure):
                plt.close(result)

    box.observe(update, names="value")
    if initial:
        update()
    ui = widgets.VBox([box, out])
    display(ui)
    return ui


__all__ = ["plot_history", "project_2d", "embedding_map", "heatmap", "image_grid", "attention_grid",
           "attention_explorer", "live_widgets", "text_explorer", "ExplorerView", "CJK_FAMILIES", "cjk_font"]
