"""Chinese text: unigram segmentation (ptm_lib.data.chinese) and a font that draws it (viz.cjk_font)."""

import itertools
import warnings

import matplotlib.pyplot as plt
import pytest

from ptm_lib import viz
from ptm_lib.data import chinese

TOY = {"南京市": 20, "长江大桥": 10, "南京": 30, "市长": 30, "长江": 5, "大桥": 5, "江": 1}


def test_the_dynamic_programme_finds_the_most_probable_segmentation():
    for text in ["南京市长江大桥", "南京市长", "长江大桥南京", "市长江"]:
        brute = max(chinese.segmentations(text, TOY), key=lambda words: chinese.segmentation_log_prob(words, TOY))
        best = chinese.best_segmentation(text, TOY)
        assert chinese.segmentation_log_prob(best, TOY) == pytest.approx(chinese.segmentation_log_prob(brute, TOY))
        assert "".join(best) == text


def test_segmentations_cover_every_cut_into_known_words_or_characters():
    cuts = list(chinese.segmentations("南京市", {"南京": 3, "南京市": 1}))
    assert sorted(cuts) == sorted([["南京市"], ["南京", "市"], ["南", "京", "市"]])
    assert len(cuts) == len({tuple(c) for c in cuts})
    # with every substring a word, all 2 ** (n - 1) cuts appear
    text = "一二三四"
    everything = {text[i:j]: 1 for i, j in itertools.combinations(range(len(text) + 1), 2)}
    assert len(list(chinese.segmentations(text, everything))) == 2 ** (len(text) - 1)


def test_unknown_characters_count_once_and_unknown_strings_never():
    total = sum(TOY.values())
    assert chinese.word_log_prob("桥", TOY, total) == pytest.approx(-chinese.math.log(total))
    assert chinese.word_log_prob("江大桥", TOY, total) == -chinese.math.inf
    assert chinese.best_segmentation("吃苹果", TOY) == ["吃", "苹", "果"]


@pytest.mark.parametrize("text, counts, message", [("", TOY, "non-empty"), (None, TOY, "non-empty"),
                                                    ("南京", {}, "empty")])
def test_bad_input_says_what_to_give(text, counts, message):
    with pytest.raises(ValueError, match=message):
        chinese.best_segmentation(text, counts)


def test_jieba_dictionary_cuts_the_bridge_not_the_mayor():
    counts = chinese.load_jieba_counts()
    assert len(counts) > 300_000 and counts["长江大桥"] > 0
    assert chinese.best_segmentation("南京市长江大桥", counts) == ["南京市", "长江大桥"]


def _missing_glyph_warnings(family: str) -> list[str]:
    fig, ax = plt.subplots()
    ax.set_title("南京市长江大桥 苹果", fontfamily=family)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    plt.close(fig)
    return [str(w.message) for w in caught if "missing from" in str(w.message)]


def test_the_cjk_font_draws_chinese_and_the_default_font_does_not():
    assert _missing_glyph_warnings(viz.cjk_font()) == []
    assert _missing_glyph_warnings("DejaVu Sans")  # the check can fail: the default font has no 南


def test_without_a_cjk_font_the_error_names_the_package(monkeypatch):
    from matplotlib import font_manager

    monkeypatch.setattr(font_manager.fontManager, "ttflist", [])
    monkeypatch.setattr(viz, "_fontconfig_cjk_files", lambda: [])
    with pytest.raises(RuntimeError, match="fonts-noto-cjk"):
        viz.cjk_font()
