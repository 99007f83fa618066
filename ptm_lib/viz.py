"""Plots the chapters share: learning curves, embedding maps, heatmaps, image grids and attention.

Each function draws with matplotlib and returns the :class:`~matplotlib.figure.Figure`
(or draws into an ``ax`` you pass), so a notebook shows it and a test can check it.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .train import History


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
    of a few classes (chapter 1's image features).
    """
    points = project_2d(vectors, method, seed)
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
    if texts is not None:
        if len(texts) != len(points):
            raise ValueError(f"{len(texts)} texts for {len(points)} vectors; give one text per vector (row).")
        for (x, y), text in zip(points, texts):
            ax.annotate(str(text), (x, y), fontsize=9, xytext=(3, 3), textcoords="offset points")
    ax.set(xticks=[], yticks=[], title=title or method.upper())
    return fig


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


def attention_grid(attentions, tokens: Sequence[str] | None = None, size: float = 2.0,
                   suptitle: str | None = None) -> Figure:
    """Every layer (rows) and head (columns) of a model's attention on one sequence.

    ``attentions`` is the list a model returns with ``need_weights=True``: one
    ``(batch, heads, T, T)`` (or ``(heads, T, T)``) tensor per layer; the first batch row is
    drawn. Row ``i`` of each map is where position ``i`` (the query) looks. ``tokens``
    label the axes when there are few enough of them to read (at most 24).
    """
    maps = _attention_stack(attentions)
    _check_size(size, "attention_grid")
    n_layers, n_heads, T, _ = maps.shape
    if tokens is not None and len(tokens) != T:
        raise ValueError(f"{len(tokens)} tokens for attention maps over {T} positions; pass the tokens of the "
                         "sequence the model read (one per position).")
    fig, axes = plt.subplots(n_layers, n_heads, figsize=(size * n_heads, size * n_layers + 0.4),
                             squeeze=False, layout="constrained")
    readable = tokens is not None and T <= 24
    for (layer, head), ax in np.ndenumerate(axes):
        ax.imshow(maps[layer, head], cmap="viridis", vmin=0, vmax=1)
        ax.set_xticks(range(T) if readable else [], [str(t) for t in tokens] if readable else [],
                      rotation=90, fontsize=6)
        ax.set_yticks(range(T) if readable else [], [str(t) for t in tokens] if readable else [], fontsize=6)
        if layer == 0:
            ax.set_title(f"head {head}", fontsize=9)
        if head == 0:
            ax.set_ylabel(f"layer {layer}", fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def attention_explorer(attentions, tokens: Sequence[str]):
    """Dropdowns for layer and head that redraw one labelled attention heatmap.

    Like :func:`text_explorer`, with ``PTM_STATIC=1`` this prints a note and returns
    ``None``; pair it with :func:`attention_grid`, which shows every map at once.
    """
    maps = _attention_stack(attentions)
    if len(tokens) != maps.shape[-1]:
        raise ValueError(f"{len(tokens)} tokens for attention maps over {maps.shape[-1]} positions; pass the "
                         "tokens of the sequence the model read (one per position).")
    if not live_widgets():
        print("[Attention by layer and head: an interactive explorer; run the notebook to use it. "
              "The grid shows every map.]")
        return None
    import ipywidgets as widgets
    from IPython.display import display

    layer = widgets.Dropdown(options=range(maps.shape[0]), description="layer")
    head = widgets.Dropdown(options=range(maps.shape[1]), description="head")
    out = widgets.Output()

    def update(change=None):
        out.clear_output(wait=True)
        with out:
            fig = heatmap(maps[layer.value, head.value], tokens, tokens,
                          title=f"layer {layer.value}, head {head.value} (rows attend to columns)")
            display(fig)
            plt.close(fig)

    layer.observe(update, names="value")
    head.observe(update, names="value")
    update()
    ui = widgets.VBox([widgets.HBox([layer, head]), out])
    display(ui)
    return ui


def live_widgets() -> bool:
    """Whether to show ipywidgets explorers: False when ``PTM_STATIC=1``.

    The saved book and CI set ``PTM_STATIC=1``: a widget in a saved notebook shows nothing
    to an HTML reader (there is no kernel behind it), so each explorer is paired with a
    static figure or table in the chapter instead.
    """
    return os.environ.get("PTM_STATIC", "0").strip().lower() in {"", "0", "false", "no", "off"}


def text_explorer(respond, description: str, placeholder: str = "", initial: str = ""):
    """A text box that shows ``respond(text)`` below it each time the reader presses Enter.

    ``respond`` returns anything displayable (a figure, a DataFrame, a string). With
    ``PTM_STATIC=1`` nothing interactive is built: a one-line note is printed and ``None``
    returned, so the chapter's static example carries the result. Errors from ``respond``
    (an unknown word, say) are shown as their message, not as a traceback.
    """
    if not callable(respond):
        raise TypeError(f"text_explorer's respond must be a function of the text, got {type(respond).__name__}.")
    if not live_widgets():
        print(f"[{description.rstrip(': ')}: an interactive explorer; "
              "run the notebook to use it. A static example follows.]")
        return None
    import ipywidgets as widgets
    from IPython.display import display

    box = widgets.Text(value=initial, placeholder=placeholder, description=description,
                       continuous_update=False, layout=widgets.Layout(width="60%"),
                       style={"description_width": "initial"})
    out = widgets.Output()

    def update(change=None):
        out.clear_output(wait=True)
        with out:
            try:
                result = respond(box.value)
            except (KeyError, ValueError) as error:
                print(error.args[0] if error.args else error)
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
           "attention_explorer", "live_widgets", "text_explorer"]
