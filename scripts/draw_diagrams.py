"""Draw the book's model diagrams, one SVG per model, into ``chapters/figures/``.

Every diagram is drawn here, by our own matplotlib code, from the papers' descriptions (each
function's docstring names the section it follows); none is copied from a paper's figure.
``python scripts/draw_diagrams.py`` rewrites the six files; ``--check`` exits non-zero if a
committed file differs from what this code draws (``tests/test_diagrams.py`` runs the same
comparison). The SVG is deterministic (fixed hash salt, no date) and keeps its text as text.
Drawing refuses a layout whose text leaves the figure or its box, or lands on other text or on
a box it does not label (``misfits``), naming the function to fix.

Coordinates are inches on a canvas of the figure's size, so a layout reads as its printed size.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "chapters" / "figures"
FONT = 10  # points; the figures are 4.4 to 5.15 in wide, tall rather than wide, so that text stays legible
SMALL = 9  # the smallest text: at 700 px wide it shows 12 px high or more
TITLE = 11
CAP_HEIGHT = 0.73  # of DejaVu Sans, in ems
SPACE_WIDTH = 0.318  # the advance of DejaVu Sans's space, in ems
PALETTE = {
    "token": "#eeeeee",  # words and token ids
    "special": "#e4d7f5",  # special tokens: [CLS], [SEP], [MASK], Start, Delim, Extract
    "embed": "#d3e5f6",  # embedding look-ups and embedding vectors
    "hidden": "#fde3c4",  # hidden layers: tanh, LSTM, attention, feed-forward
    "backward": "#f8cfd2",  # the backward direction (ELMo's backward LSTM)
    "norm": "#fff6bf",  # add & norm, sums and other combinations
    "output": "#d5eed5",  # output layers: softmax, linear heads, predictions
    "block": "#f6f6f6",  # the background of a repeated block
}
EDGE = "#404040"
ACCENT = "#1f5fa8"  # dashed highlights and optional connections
STYLE = {
    "svg.hashsalt": "ptm-book",
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "mathtext.fontset": "dejavusans",
    "font.size": FONT,
}


@dataclass(frozen=True)
class Box:
    """A drawn box: centre (x, y), width w and height h, in inches."""

    x: float
    y: float
    w: float
    h: float

    @property
    def top(self) -> tuple[float, float]:
        return (self.x, self.y + self.h / 2)

    @property
    def bottom(self) -> tuple[float, float]:
        return (self.x, self.y - self.h / 2)

    @property
    def left(self) -> tuple[float, float]:
        return (self.x - self.w / 2, self.y)

    @property
    def right(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y)


def canvas(width: float, height: float):
    """A blank figure whose data coordinates are inches from its lower-left corner."""
    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    ax.boxed = []  # (text, patch): each box's label, which misfits() keeps inside its box
    ax.solids = []  # the boxes, which misfits() keeps free of other text
    ax.groups = []  # the parts of one label (words and formulas), which may touch
    return fig, ax


def misfits(fig) -> list[str]:
    """What is wrong with the layout of ``fig``: text that leaves the figure, overflows its box, sits on a box
    it does not label, or overlaps other text (empty if nothing)."""
    renderer = fig.canvas.get_renderer()
    (ax,) = fig.axes
    texts = [t for t in ax.texts if t.get_text()]
    extent = {id(t): t.get_window_extent(renderer) for t in texts}
    found = [f"{t.get_text()!r} leaves the figure" for t in texts if not _inside(extent[id(t)], fig.bbox.padded(-1))]
    labelled = {id(text): patch for text, patch in ax.boxed}
    for text, patch in ax.boxed:
        if not _inside(extent[id(text)], patch.get_window_extent(renderer).padded(-2)):
            found.append(f"{text.get_text()!r} overflows its box")
    for solid in ax.solids:
        area = solid.get_window_extent(renderer)
        found += [f"{t.get_text()!r} lies on a box it does not label" for t in texts
                  if labelled.get(id(t)) is not solid and extent[id(t)].overlaps(area)]
    group = {id(part): i for i, parts in enumerate(ax.groups) for part in parts}
    for i, a in enumerate(texts):
        found += [f"{a.get_text()!r} overlaps {b.get_text()!r}" for b in texts[i + 1:]
                  if extent[id(a)].overlaps(extent[id(b)]) and group.get(id(a), -1) != group.get(id(b), -2)]
    return found


def _inside(inner, outer) -> bool:
    """Whether bounding box ``inner`` lies within ``outer``."""
    return outer.x0 <= inner.x0 and inner.x1 <= outer.x1 and outer.y0 <= inner.y0 and inner.y1 <= outer.y1


def box(ax, x: float, y: float, w: float, h: float, text: str = "", role: str = "hidden", size: float = FONT,
        weight: str = "normal", rotation: float = 0) -> Box:
    """A rounded box centred at (x, y) filled with the colour of ``role``, with ``text`` centred in it."""
    patch = ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0,rounding_size=0.05",
                                        facecolor=PALETTE[role], edgecolor=EDGE, linewidth=0.9))
    ax.solids.append(patch)
    if text:
        ax.boxed += [(part, patch) for part in label(ax, x, y, text, size=size, weight=weight, rotation=rotation)]
    return Box(x, y, w, h)


def outline(ax, x0: float, y0: float, x1: float, y1: float, role: str | None = None) -> None:
    """A background panel from (x0, y0) to (x1, y1): filled with ``role``'s colour, or a dashed accent frame."""
    ax.add_patch(FancyBboxPatch((x0, y0), x1 - x0, y1 - y0, boxstyle="round,pad=0,rounding_size=0.08",
                                facecolor=PALETTE[role] if role else "none", edgecolor=EDGE if role else ACCENT,
                                linewidth=0.9 if role else 1.3, linestyle="-" if role else (0, (4, 2))))


def arrow(ax, start: tuple[float, float], end: tuple[float, float], dashed: bool = False, color: str = EDGE,
          head: bool = True) -> None:
    """An arrow from ``start`` to ``end``, exactly (no shrinking), so that it touches the boxes it joins."""
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>" if head else "-", mutation_scale=9, shrinkA=0,
                                 shrinkB=0, color=color, linewidth=1.0, linestyle=(0, (4, 2)) if dashed else "-"))


def line(ax, points: list[tuple[float, float]], color: str = EDGE, dashed: bool = False) -> None:
    """A polyline through ``points`` (the un-headed legs of a routed arrow)."""
    xs, ys = zip(*points)
    ax.plot(xs, ys, color=color, linewidth=1.0, linestyle=(0, (4, 2)) if dashed else "-", solid_capstyle="butt")


def label(ax, x: float, y: float, text: str, size: float = FONT, ha: str = "center", va: str = "center",
          color: str = "black", weight: str = "normal", style: str = "normal", rotation: float = 0) -> list:
    """Text at (x, y) in inches; returns its matplotlib Text parts.

    A single line is placed by its baseline, so that its capitals sit centred whatever its descenders.
    Words stay plain text and only the ``$...$`` formulas go through mathtext, so that the SVG's words
    stay searchable (mathtext writes a formula glyph by glyph).
    """
    options = dict(fontsize=size, color=color, fontweight=weight, fontstyle=style, rotation=rotation,
                   linespacing=1.3)
    if "\n" in text or rotation:
        if "$" in text:
            raise ValueError(f"{text!r}: a formula must sit on a single, unrotated line; split the label")
        return [ax.text(x, y, text, ha=ha, va=va, **options)]
    baseline = y - CAP_HEIGHT / 2 * size / 72 if va == "center" else y
    parts = [part for part in re.split(r"(\$[^$]*\$)", text) if part]
    space = SPACE_WIDTH * size / 72
    placed, width, renderer = [], 0.0, ax.figure.canvas.get_renderer()
    for part in parts:
        words = part.strip(" ")
        width += space * (len(part) - len(part.lstrip(" ")))
        if words:
            text_part = ax.text(0, baseline, words, ha="left", va="baseline", **options)
            part_width = text_part.get_window_extent(renderer).width / ax.figure.dpi
            placed.append((width, part_width, text_part))
            width += part_width
        width += space * (len(part) - len(part.rstrip(" ")))
    left = {"left": x, "center": x - width / 2, "right": x - width}[ha]
    for i, (offset, part_width, part) in enumerate(placed):
        anchor = ha if len(placed) == 1 else _anchor(part.get_text(), i, len(placed))
        part.set_horizontalalignment(anchor)
        part.set_x(left + offset + {"left": 0, "center": part_width / 2, "right": part_width}[anchor])
    ax.groups.append([part for *_, part in placed])
    return [part for *_, part in placed]


def _anchor(part: str, index: int, count: int) -> str:
    """How part ``index`` of a ``count``-part label is anchored: a browser may set words a little narrower than
    matplotlib measures, so words hold on to the formula they touch and the slack goes to the label's edges."""
    if "$" in part or index == count - 1:
        return "left"
    return "right" if index == 0 else "center"


def plus(ax, x: float, y: float, r: float = 0.09) -> Box:
    """A circled plus (element-wise sum) centred at (x, y)."""
    ax.add_patch(Circle((x, y), r, facecolor="white", edgecolor=EDGE, linewidth=0.9))
    line(ax, [(x - r * 0.6, y), (x + r * 0.6, y)])
    line(ax, [(x, y - r * 0.6), (x, y + r * 0.6)])
    return Box(x, y, 2 * r, 2 * r)


def nnlm():
    """Bengio et al. (2003), section 2 and figure 1: the neural probabilistic language model.

    The n-1 previous words are looked up in the shared matrix C (|V| x m), concatenated into x,
    passed through h = tanh(d + Hx), scored y = b + Wx + Uh and normalised by a softmax over the
    vocabulary. W, the direct connections from the embeddings to the output, is optional (W = 0).
    """
    fig, ax = canvas(4.6, 5.0)
    xs = (0.85, 2.3, 3.75)
    words = (r"$w_{t-n+1}$", "…", r"$w_{t-1}$")
    vectors = (r"$C(w_{t-n+1})$", "…", r"$C(w_{t-1})$")
    for x, word, vector in zip(xs, words, vectors):
        w = box(ax, x, 0.65, 1.05, 0.36, word, "token")
        c = box(ax, x, 1.55, 1.15, 0.36, vector, "embed")
        if word != "…":
            arrow(ax, w.top, c.bottom)
    label(ax, 2.3, 0.2, "the n − 1 previous words (indices into V)", size=SMALL, style="italic")
    label(ax, 2.3, 1.1, "look-up in the shared table C (|V| × m)", size=SMALL)
    concat = box(ax, 2.3, 2.4, 4.0, 0.38, r"concatenation  $x$   ((n − 1)·m values)", "embed")
    for x in (0.85, 3.75):
        arrow(ax, (x, 1.73), (x, concat.bottom[1]))
    hidden = box(ax, 1.45, 3.2, 2.4, 0.4, r"tanh layer  $h = \tanh(d + Hx)$", "hidden")
    arrow(ax, (hidden.x, concat.top[1]), hidden.bottom)
    scores = box(ax, 2.3, 4.0, 4.0, 0.4, r"scores  $y = b + Wx + Uh$   (|V| values)", "output")
    arrow(ax, hidden.top, (hidden.x, scores.bottom[1]))
    arrow(ax, (4.05, concat.top[1]), (4.05, scores.bottom[1]), color=ACCENT, dashed=True)
    label(ax, 3.95, 3.2, "W: optional\ndirect connections", size=SMALL, ha="right", color=ACCENT)
    softmax = box(ax, 2.3, 4.75, 4.0, 0.4, r"softmax:  $P(w_t = i \mid w_{t-n+1}, …, w_{t-1})$", "output")
    arrow(ax, scores.top, softmax.bottom)
    return fig


def _word2vec_panel(ax, bottom: float, cbow: bool) -> None:
    """One word2vec panel, drawn bottom-up from ``bottom``: CBOW or skip-gram."""
    xs = (0.75, 1.85, 2.95, 4.05)
    context = (r"$w_{t-2}$", r"$w_{t-1}$", r"$w_{t+1}$", r"$w_{t+2}$")
    y_in, y_win, y_h, y_wout, y_out = (bottom + d for d in (0.3, 1.0, 1.7, 2.4, 3.1))
    if cbow:
        for x, word in zip(xs, context):
            arrow(ax, box(ax, x, y_in, 0.85, 0.34, word, "token").top, (x, y_win - 0.19))
    else:
        arrow(ax, box(ax, 2.4, y_in, 0.85, 0.34, r"$w_t$", "token").top, (2.4, y_win - 0.19))
    w_in = box(ax, 2.4, y_win, 4.15, 0.38, r"$W_{in}$  (|V| × d): look up input vectors $v_w$", "embed")
    text = r"$h$ = average of the $2c$ vectors $v_w$" if cbow else r"$h = v_{w_t}$"
    h = box(ax, 2.4, y_h, 2.7 if cbow else 1.3, 0.38, text, "hidden")
    arrow(ax, w_in.top, h.bottom)
    w_out = box(ax, 2.4, y_wout, 4.15, 0.38, r"$W_{out}$  (|V| × d): score output vectors $u_o \cdot h$", "output")
    arrow(ax, h.top, w_out.bottom)
    if cbow:
        arrow(ax, w_out.top, box(ax, 2.4, y_out, 0.85, 0.34, r"$w_t$", "output").bottom)
        label(ax, 0.2, y_out + 0.5, "CBOW: context words → centre word", size=TITLE, weight="bold", ha="left")
        return
    for x, word in zip(xs, context):
        arrow(ax, (x, w_out.top[1]), box(ax, x, y_out, 0.85, 0.34, word, "output").bottom)
    label(ax, 0.2, y_out + 0.5, "skip-gram: centre word → each context word", size=TITLE, weight="bold", ha="left")


def word2vec():
    """Mikolov et al. (2013a), section 3 and figure 1: CBOW and skip-gram; negative sampling from 2013b, section 2.2.

    Both read input vectors v_w (rows of W_in) and score output vectors u_w (rows of W_out). CBOW
    averages the 2c context vectors to predict the centre word; skip-gram predicts each context
    word from the centre word's vector. Negative sampling replaces the softmax over V by a logistic
    loss on the true pair and k noise words drawn from the unigram distribution to the power 3/4.
    """
    fig, ax = canvas(4.8, 8.75)
    _word2vec_panel(ax, 4.85, cbow=True)
    _word2vec_panel(ax, 1.0, cbow=False)
    label(ax, 2.4, 0.75, "window c = 2.  Output: a softmax over V, or negative sampling:", size=SMALL)
    label(ax, 2.4, 0.45, r"maximise $\log\sigma(u_o \cdot h) + \Sigma_{i=1}^{k} \log\sigma(-u_{n_i} \cdot h)$",
          size=SMALL)
    label(ax, 2.4, 0.15, r"with $k$ noise words $n_i$ drawn from $P(w) \propto \mathrm{count}(w)^{3/4}$", size=SMALL)
    return fig


def elmo():
    """Peters et al. (2018), section 3: ELMo's biLM and its task-specific weighted sum of layers.

    A character CNN gives each token a context-free vector x_k = h_{k,0} (3.1); a forward and a
    backward LSTM language model, L = 2 layers each, read the tokens in opposite directions and
    share only the token representation and the softmax; layer j's state for token k is
    h_{k,j} = [forward; backward]. A task learns ELMo_k = gamma * sum_j s_j h_{k,j}, s = softmax(w) (3.2).
    """
    fig, ax = canvas(4.9, 5.9)
    xs = (1.45, 2.8, 4.15)
    tokens = (r"$t_{k-1}$", r"$t_k$", r"$t_{k+1}$")
    y_tok, y_cnn, y_layers, lift = 1.08, 1.85, (2.85, 3.95), 0.17
    outline(ax, xs[1] - 0.64, y_cnn - 0.3, xs[1] + 0.64, y_layers[1] + 0.45)
    for i, (x, token) in enumerate(zip(xs, tokens)):
        cnn = box(ax, x, y_cnn, 1.1, 0.36, "char CNN", "embed")
        arrow(ax, box(ax, x, y_tok, 0.7, 0.34, token, "token").top, cnn.bottom)
        below_f = below_b = cnn
        for y in y_layers:
            fwd = box(ax, x - 0.29, y + lift, 0.54, 0.3, "LSTM", "hidden", size=SMALL)
            bwd = box(ax, x + 0.29, y - lift, 0.54, 0.3, "LSTM", "backward", size=SMALL)
            arrow(ax, (fwd.x, below_f.top[1]), fwd.bottom)
            arrow(ax, (bwd.x, below_b.top[1]), bwd.bottom)
            if i:
                arrow(ax, (xs[i - 1] - 0.02, fwd.y), fwd.left)
                arrow(ax, bwd.left, (xs[i - 1] + 0.56, bwd.y))
            below_f, below_b = fwd, bwd
    for name, y in (("layer 0", y_cnn + 0.1), ("layer 1", y_layers[0]), ("layer 2", y_layers[1])):
        label(ax, 0.08, y, name, size=SMALL, ha="left")
    label(ax, 0.08, y_cnn - 0.12, r"$h_{k,0} = x_k$", size=SMALL, ha="left")
    label(ax, 2.45, 0.65, "raised, orange: forward LSTM, reads left to right", size=SMALL)
    label(ax, 2.45, 0.42, "lowered, red: backward LSTM, reads right to left", size=SMALL)
    label(ax, 2.45, 0.17, r"(pre-training: the top layer predicts $t_{k+1}$ and $t_{k-1}$)", size=SMALL)
    top = y_layers[1] + 0.45
    total = box(ax, 2.45, top + 0.8, 4.6, 0.42, r"$\mathrm{ELMo}_k = \gamma\, \Sigma_{j=0}^{2}\, s_j\, h_{k,j}$",
                "norm")
    arrow(ax, (xs[1], top), (xs[1], total.bottom[1]), color=ACCENT)
    label(ax, xs[1] + 0.1, top + 0.3, r"$h_{k,j}$ = [forward; backward]", size=SMALL, ha="left", color=ACCENT)
    label(ax, 2.45, top + 1.3, r"task-specific: $s = \mathrm{softmax}(w)$ weights the layers, $\gamma$ scales",
          size=SMALL)
    return fig


def transformer_block():
    """Vaswani et al. (2017), sections 3.1-3.5 and figure 1 (left): one encoder block, post-norm.

    Token embeddings plus positional encodings enter N = 6 identical blocks (base model); each
    block is multi-head self-attention then a position-wise feed-forward network, each sub-layer
    wrapped as LayerNorm(x + Sublayer(x)).
    """
    fig, ax = canvas(4.4, 6.9)
    cx, rail = 2.65, 1.45
    tokens = box(ax, cx, 0.75, 1.6, 0.34, "input tokens", "token")
    embed = box(ax, cx, 1.35, 1.9, 0.36, "token embedding", "embed")
    arrow(ax, tokens.top, embed.bottom)
    add_pe = plus(ax, cx, 1.95)
    arrow(ax, embed.top, add_pe.bottom)
    pe = box(ax, 0.9, 1.95, 1.4, 0.5, "positional\nencoding", "embed", size=SMALL)
    arrow(ax, pe.right, add_pe.left)
    outline(ax, 1.15, 2.4, 4.15, 6.3, role="block")
    label(ax, 1.0, 4.5, "N ×", size=TITLE, weight="bold", ha="right")
    label(ax, 1.0, 4.15, "(N = 6)", size=SMALL, ha="right")
    fork1 = 2.75
    arrow(ax, add_pe.top, (cx, fork1), head=False)
    attention = box(ax, cx, 3.35, 2.1, 0.5, "multi-head\nself-attention", "hidden")
    for dx, name in ((-0.6, "Q"), (0.0, "K"), (0.6, "V")):
        arrow(ax, (cx, fork1), (cx + dx, attention.bottom[1]))
        label(ax, cx + dx + (0.08 if dx >= 0 else -0.08), 2.97, name, size=SMALL, ha="left" if dx >= 0 else "right")
    norm1 = box(ax, cx, 4.05, 2.1, 0.36, "Add & Norm", "norm")
    arrow(ax, attention.top, norm1.bottom)
    fork2 = 4.45
    arrow(ax, norm1.top, (cx, fork2), head=False)
    ffn = box(ax, cx, 5.0, 2.1, 0.5, "position-wise\nfeed-forward", "hidden")
    arrow(ax, (cx, fork2), ffn.bottom)
    norm2 = box(ax, cx, 5.75, 2.1, 0.36, "Add & Norm", "norm")
    arrow(ax, ffn.top, norm2.bottom)
    for fork, norm in ((fork1, norm1), (fork2, norm2)):
        line(ax, [(cx, fork), (rail, fork), (rail, norm.y)])
        arrow(ax, (rail, norm.y), norm.left)
    label(ax, rail - 0.12, (fork1 + norm1.y) / 2, "residual", size=SMALL, rotation=90)
    arrow(ax, norm2.top, (cx, 6.6))
    label(ax, cx, 6.65, "to the next block", size=SMALL, va="bottom")
    label(ax, 2.2, 0.3, "Add & Norm: LayerNorm(x + Sublayer(x)), post-norm", size=SMALL, style="italic")
    return fig


def _gpt_row(ax, y: float, texts: tuple[str, ...], x0: float = 0.15) -> float:
    """One GPT input sequence as adjacent cells at height ``y``; returns its right edge."""
    special = {"Start", "Delim", "Extract"}
    x = x0
    for text in texts:
        w = 0.066 * len(text) + 0.15
        box(ax, x + w / 2, y, w, 0.3, text, "special" if text in special else "token", size=SMALL)
        x += w
    return x


def gpt_inputs():
    """Radford et al. (2018), section 3.3 and figure 1 (right): GPT's input transformations for fine-tuning.

    Every task becomes one or more token sequences between the new Start and Extract tokens (Delim
    between the parts); the Transformer's final state at Extract feeds a new linear layer.
    Similarity runs both orders and adds their states; multiple choice scores each answer and
    normalises the scores with a softmax.
    """
    fig, ax = canvas(5.15, 5.65)
    x_tf, x_lin = 3.75, 4.61
    rows = {
        "Classification": [("Start", "Text", "Extract")],
        "Entailment": [("Start", "Premise", "Delim", "Hypothesis", "Extract")],
        "Similarity": [("Start", "Text 1", "Delim", "Text 2", "Extract"),
                       ("Start", "Text 2", "Delim", "Text 1", "Extract")],
        "Multiple choice": [("Start", "Context", "Delim", f"Answer {n}", "Extract") for n in ("1", "2", "N")],
    }
    y = 5.5
    for task, sequences in rows.items():
        label(ax, 0.15, y, task, size=FONT, weight="bold", ha="left")
        ys = [y - 0.4 - 0.42 * i for i in range(len(sequences))]
        for yi, sequence in zip(ys, sequences):
            end = _gpt_row(ax, yi, sequence)
            arrow(ax, (end, yi), box(ax, x_tf, yi, 0.9, 0.3, "Transformer", "hidden", size=SMALL).left)
        _gpt_head(ax, task, ys, x_tf + 0.45, x_lin)
        y = ys[-1] - 0.5
    label(ax, 2.57, 0.3, "Transformer: GPT's pre-trained causal (left-to-right) stack.\n"
          "Linear: a new layer on the Transformer's last state, at Extract.", size=SMALL)
    return fig


def _gpt_head(ax, task: str, ys: list[float], x_out: float, x_lin: float) -> None:
    """The task head right of the Transformers (which end at ``x_out``): a Linear per row, or summed states."""
    if task == "Similarity":
        add = plus(ax, x_out + 0.14, sum(ys) / 2)
        for yi in ys:
            line(ax, [(x_out, yi), (add.x, yi)])
            arrow(ax, (add.x, yi), add.top if yi > add.y else add.bottom)
        lin = box(ax, x_lin + 0.2, add.y, 0.52, 0.3, "Linear", "output", size=SMALL)
        arrow(ax, add.right, lin.left)
        return
    for yi in ys:
        arrow(ax, (x_out, yi), box(ax, x_lin, yi, 0.52, 0.3, "Linear", "output", size=SMALL).left)
    if task == "Multiple choice":
        label(ax, x_lin + 0.26, ys[-1] - 0.28, "then a softmax over the answers", size=SMALL, ha="right", va="center")


def _bert_embeddings(ax, top: float) -> float:
    """Devlin et al. (2019) figure 2, transposed: one row per token, the three embedding tables in three colours;
    returns the bottom of the table."""
    tokens = ("[CLS]", "my", "dog", "is", "cute", "[SEP]", "he", "likes", "play", "##ing", "[SEP]")
    columns = {"input": 0.6, "token": 1.75, "segment": 2.95, "position": 4.05}
    heads = (("input", "Input\ntokens"), ("token", "Token\nembeddings"), ("segment", "Segment\nembeddings"),
             ("position", "Position\nembeddings"))
    for key, head in heads:
        label(ax, columns[key], top, head, size=SMALL, weight="bold", va="top")
    y = top - 0.6
    for i, token in enumerate(tokens):
        box(ax, columns["input"], y, 0.85, 0.27, token, "special" if token.startswith("[") else "token", size=SMALL)
        name = rf"\#\#\mathrm{{{token[2:]}}}" if token.startswith("##") else rf"\mathrm{{{token}}}"
        box(ax, columns["token"], y, 1.05, 0.26, f"$E_{{{name}}}$", "embed", size=SMALL)
        box(ax, columns["segment"], y, 0.6, 0.26, "$E_A$" if i <= 5 else "$E_B$", "norm", size=SMALL)
        box(ax, columns["position"], y, 0.6, 0.26, f"$E_{{{i}}}$", "output", size=SMALL)
        for x in (2.45, 3.5):
            label(ax, x, y, "+", size=FONT)
        y -= 0.3
    label(ax, 2.35, y, "sentence A = [CLS] … first [SEP];  sentence B = the rest", size=SMALL, style="italic")
    return y - 0.45


def _bert_heads(ax, top: float) -> None:
    """The two pre-training heads on the bidirectional encoder (Devlin et al. 2019, section 3.1)."""
    tokens = ("[CLS]", "my", "dog", "is", "[MASK]", "[SEP]", "he", "likes", "play", "##ing", "[SEP]")
    ys = [top - 0.3 * i for i in range(len(tokens))]
    encoder = box(ax, 1.65, (ys[0] + ys[-1]) / 2, 0.55, ys[0] - ys[-1] + 0.3, "bidirectional Transformer encoder",
                  "hidden", rotation=90)
    for i, (y, token) in enumerate(zip(ys, tokens)):
        cell = box(ax, 0.6, y, 0.85, 0.27, token, "special" if token.startswith("[") else "token", size=SMALL)
        arrow(ax, cell.right, (encoder.left[0], y))
        out = box(ax, 2.3, y, 0.45, 0.26, "$C$" if i == 0 else f"$T_{{{i}}}$", "embed", size=SMALL)
        arrow(ax, (encoder.right[0], y), out.left)
    nsp = box(ax, 3.7, ys[0] - 0.1, 1.8, 0.46, "NSP classifier:\nIsNext / NotNext", "output", size=SMALL)
    arrow(ax, (2.525, ys[0]), (nsp.left[0], ys[0]))
    label(ax, 2.7, (ys[1] + ys[3]) / 2 - 0.05, "sentence B: the real next\nsentence, or a random one", size=SMALL,
          ha="left", style="italic")
    mlm = box(ax, 3.7, ys[4] - 0.1, 1.8, 0.46, "MLM: softmax over\nthe vocabulary → cute", "output", size=SMALL)
    arrow(ax, (2.525, ys[4]), (mlm.left[0], ys[4]))
    label(ax, 2.7, ys[7], "15 % of the tokens are\nchosen: 80 % → [MASK],\n10 % random token,\n10 % unchanged",
          size=SMALL, ha="left", style="italic")


def bert_inputs():
    """Devlin et al. (2019), section 3 and figure 2: BERT's input representation and its two pre-training heads.

    Each input vector is the sum of a WordPiece token embedding, a segment embedding (A or B) and a
    learned position embedding. Pre-training puts a masked-LM head on the masked positions' outputs
    and a next-sentence-prediction classifier on C, the output at [CLS].
    """
    fig, ax = canvas(4.7, 8.45)
    label(ax, 2.35, 8.3, "Input = token + segment + position embeddings", size=TITLE, weight="bold")
    bottom = _bert_embeddings(ax, 8.05)
    label(ax, 2.35, bottom, "Pre-training: masked LM and next sentence", size=TITLE, weight="bold")
    _bert_heads(ax, bottom - 0.45)
    return fig


DIAGRAMS = {
    "nnlm.svg": nnlm,
    "word2vec.svg": word2vec,
    "elmo.svg": elmo,
    "transformer_block.svg": transformer_block,
    "gpt_inputs.svg": gpt_inputs,
    "bert_inputs.svg": bert_inputs,
}
"""Each file in chapters/figures/ and the function that draws it."""


def draw_all(folder: Path = FIGURES) -> list[Path]:
    """Draw every diagram into ``folder`` (created if missing); return the written paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with plt.rc_context(STYLE):
        for name, draw in DIAGRAMS.items():
            fig = draw()
            if problems := misfits(fig):
                plt.close(fig)
                raise ValueError(f"{name}: fix the layout in {draw.__name__}(): " + "; ".join(problems))
            fig.savefig(folder / name, format="svg", metadata={"Date": None})
            plt.close(fig)
            written.append(folder / name)
    return written


def stale(committed: Path, drawn: Path) -> list[str]:
    """The diagram names whose file in ``committed`` is missing or differs from the one in ``drawn``."""
    return [name for name in DIAGRAMS
            if not (committed / name).exists() or (committed / name).read_bytes() != (drawn / name).read_bytes()]


def main(argv: list[str] | None = None) -> int:
    """Redraw every diagram, or with ``--check`` only report (exit status 1) the committed files that differ."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing; exit 1 if a file is stale")
    parser.add_argument("--folder", type=Path, default=FIGURES, help="where the SVG files live (chapters/figures)")
    args = parser.parse_args(argv)
    if not args.check:
        for path in draw_all(args.folder):
            print(f"wrote {path}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        draw_all(Path(tmp))
        differ = stale(args.folder, Path(tmp))
    for name in differ:
        print(f"{args.folder / name} differs from what scripts/draw_diagrams.py draws: run it to redraw",
              file=sys.stderr)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
