"""The model diagrams in chapters/figures/ are what scripts/draw_diagrams.py draws: redrawn into a
temporary folder, every committed SVG must match byte for byte (so a hand edit, or a code change
not followed by ``python scripts/draw_diagrams.py``, fails here); each parses as XML, keeps its
text as text with its key labels and stays small. Drawing checks each layout (text inside the figure
and its boxes, no text on another's box or text); the last test shows that check can fail."""

import xml.etree.ElementTree as ET

import matplotlib.pyplot as plt
import pytest

from scripts import draw_diagrams

SVG = "{http://www.w3.org/2000/svg}"
KEY_LABELS = {
    "nnlm.svg": ["softmax", "tanh layer", "concatenation", "look-up in the shared table C", "direct connections"],
    "word2vec.svg": ["CBOW", "skip-gram", "look up input vectors", "score output vectors", "average",
                     "negative sampling"],
    "elmo.svg": ["char CNN", "LSTM", "layer 2", "weights the layers", "forward LSTM", "backward LSTM"],
    "transformer_block.svg": ["multi-head", "self-attention", "Add & Norm", "feed-forward", "positional",
                              "residual", "N ×"],
    "gpt_inputs.svg": ["Start", "Delim", "Extract", "Transformer", "Linear", "Entailment", "Similarity",
                       "Multiple choice", "Hypothesis"],
    "bert_inputs.svg": ["[CLS]", "[SEP]", "[MASK]", "##ing", "Segment", "Position", "IsNext / NotNext", "MLM"],
}


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    """The diagrams as the code draws them now, in a temporary folder."""
    folder = tmp_path_factory.mktemp("figures")
    draw_diagrams.draw_all(folder)
    return folder


def texts(path) -> str:
    """All the text of an SVG file, one string (its text elements; a formula's glyphs come apart)."""
    root = ET.parse(path).getroot()
    return " ".join("".join(node.itertext()) for node in root.iter(f"{SVG}text"))


def test_every_diagram_has_its_labels_listed():
    assert sorted(KEY_LABELS) == sorted(draw_diagrams.DIAGRAMS)


@pytest.mark.parametrize("name", sorted(draw_diagrams.DIAGRAMS))
def test_committed_diagram_is_what_the_code_draws(name, drawn):
    committed = draw_diagrams.FIGURES / name
    assert committed.exists(), f"{committed} is missing: run python scripts/draw_diagrams.py"
    assert committed.read_bytes() == (drawn / name).read_bytes(), (
        f"{committed} differs from what scripts/draw_diagrams.py draws: run it to redraw (never edit the SVG by hand)")


@pytest.mark.parametrize("name", sorted(draw_diagrams.DIAGRAMS))
def test_diagram_is_small_xml_with_its_labels_as_text(name):
    path = draw_diagrams.FIGURES / name
    assert path.stat().st_size < 100_000
    text = texts(path)  # ParseError if the file is not XML
    missing = [key for key in KEY_LABELS[name] if key not in text]
    assert not missing, f"{name} lacks the labels {missing}"
    assert 'id="DejaVuSans' not in path.read_text(), "text must stay text, not glyph paths (svg.fonttype = none)"


def test_check_passes_on_fresh_files_and_fails_on_an_edited_or_missing_one(tmp_path, capsys):
    for name in draw_diagrams.DIAGRAMS:
        (tmp_path / name).write_bytes((draw_diagrams.FIGURES / name).read_bytes())
    assert draw_diagrams.main(["--check", "--folder", str(tmp_path)]) == 0
    edited = tmp_path / "bert_inputs.svg"
    edited.write_text(edited.read_text().replace("[MASK]", "[MAKS]"))
    (tmp_path / "nnlm.svg").unlink()
    assert draw_diagrams.main(["--check", "--folder", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    reported = [name for name in draw_diagrams.DIAGRAMS if name in err]
    assert reported == ["nnlm.svg", "bert_inputs.svg"]


def test_layout_check_catches_overflowing_and_overlapping_text():
    with plt.rc_context(draw_diagrams.STYLE):
        fig, ax = draw_diagrams.canvas(2.0, 1.0)
        draw_diagrams.box(ax, 0.5, 0.5, 0.3, 0.3, "a label far too long for its box")
        draw_diagrams.label(ax, 1.5, 0.5, "on top")
        draw_diagrams.label(ax, 1.5, 0.5, "of each other")
        problems = draw_diagrams.misfits(fig)
        plt.close(fig)
    assert any("overflows its box" in p for p in problems)
    assert any("leaves the figure" in p for p in problems)
    assert any("overlaps" in p for p in problems)
