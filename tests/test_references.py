"""The reference list is author–year: the label style of ``_ext/author_year_bib.py`` on a few BibTeX
entries, and the labels of the built references page (``_build/html``; ``PTM_BOOK_HTML`` overrides it)."""

import os
import re
import sys
from pathlib import Path

import pybtex.plugin
import pytest
import yaml
from pybtex.database import parse_string

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "_ext"))

import author_year_bib  # noqa: E402  (the book's local Sphinx extension, in _ext/)

HTML_DIR = Path(os.environ.get("PTM_BOOK_HTML", ROOT / "_build" / "html")).resolve()
REFERENCES_PAGE = HTML_DIR / "chapters" / "references.html"
# "Devlin et al., 2019", "Zeiler and Fergus, 2014", "Peters et al., 2018a", "The Holy Bible, n.d.-b".
AUTHOR_YEAR_LABEL = re.compile(r"^(?P<names>\w.*?), (?P<year>\d{4}[a-z]?|n\.d\.(?:-[a-z])?)$")

SAMPLE_BIB = r"""
@article{one, author = {Collins, Michael}, title = {Discriminative Training}, year = {2002}}
@article{two, author = {van der Maaten, Laurens and Hinton, Geoffrey}, title = {t-SNE}, year = {2008}}
@article{three, author = {Devlin, Jacob and Chang, Ming-Wei and Lee, Kenton}, title = {BERT}, year = {2019}}
@article{others, author = {Wu, Yonghui and others}, title = {GNMT}, year = {2016}}
@misc{contributors, author = {{Wikipedia contributors}}, title = {Dump}, year = {2016}}
@misc{accent, author = {Karafi{\'a}t, Martin}, title = {RNNLM}, year = {2010}}
@book{editor, editor = {Fellbaum, Christiane}, title = {WordNet}, year = {1998}}
@manual{organization, organization = {The Unicode Consortium}, title = {The Unicode Standard}, year = {2023}}
@misc{title, title = {The Holy Bible, King James Version}, year = {1611}}
@misc{undated, author = {Honnibal, Matthew}, title = {A Good POS Tagger}}
@inproceedings{deep, author = {Peters, Matthew and Neumann, Mark and Iyyer, Mohit}, title = {Deep}, year = {2018}}
@inproceedings{dissect, author = {Peters, Matthew and Neumann, Mark and Yih, Wen-tau}, title = {Dissect}, year = {2018}}
@misc{nodate1, author = {Doe, Jane}, title = {First}}
@misc{nodate2, author = {Doe, Jane}, title = {Second}}
"""

EXPECTED_LABELS = {
    "one": "Collins, 2002",
    "two": "van der Maaten and Hinton, 2008",
    "three": "Devlin et al., 2019",
    "others": "Wu et al., 2016",
    "contributors": "Wikipedia contributors, 2016",
    "accent": "Karafiát, 2010",
    "editor": "Fellbaum, 1998",
    "organization": "The Unicode Consortium, 2023",
    "title": "The Holy Bible, 1611",
    "undated": "Honnibal, n.d.",
    "deep": "Peters et al., 2018a",
    "dissect": "Peters et al., 2018b",
    "nodate1": "Doe, n.d.-a",
    "nodate2": "Doe, n.d.-b",
}


def _formatted_sample() -> dict[str, str]:
    """Label of every sample entry, in list order, as the registered formatting style gives them
    (sorted, then labelled, as sphinxcontrib-bibtex does)."""
    author_year_bib.register_styles()
    style = pybtex.plugin.find_plugin("pybtex.style.formatting", author_year_bib.STYLE_NAME)()
    entries = style.sort(parse_string(SAMPLE_BIB, "bibtex").entries.values())
    return {entry.key: label for entry, label in zip(entries, style.format_labels(entries))}


def test_labels_are_author_year():
    labels = _formatted_sample()
    assert labels == EXPECTED_LABELS
    assert all(AUTHOR_YEAR_LABEL.match(label) for label in labels.values())


def test_list_is_sorted_by_names_then_year_then_title():
    order = list(_formatted_sample())
    assert order == [
        "one", "three", "nodate1", "nodate2", "editor", "undated", "accent", "deep", "dissect",
        "title", "organization", "two", "contributors", "others",
    ]


def test_entry_without_a_name_is_a_clear_error():
    entry = parse_string("@misc{anonymous, year = {2000}}", "bibtex").entries["anonymous"]
    with pytest.raises(ValueError, match=r"'anonymous' has no author.*references\.bib"):
        author_year_bib.entry_names(entry)


def test_config_selects_the_styles():
    sphinx = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]
    assert sphinx["local_extensions"] == {"author_year_bib": "_ext/"}
    assert sphinx["config"]["bibtex_default_style"] == author_year_bib.STYLE_NAME
    assert sphinx["config"]["bibtex_reference_style"] == author_year_bib.STYLE_NAME


def _built_labels() -> dict[str, str]:
    """Label of every entry of the built reference list, by its HTML id."""
    from bs4 import BeautifulSoup

    if not REFERENCES_PAGE.is_file():
        pytest.skip(f"No built reference list at {REFERENCES_PAGE}: run `make book` first")
    soup = BeautifulSoup(REFERENCES_PAGE.read_text(encoding="utf-8"), "html.parser")
    citations = soup.select("div.citation")
    assert citations, f"{REFERENCES_PAGE} has no citation entries"
    return {c["id"]: c.select_one(".label").get_text().strip("[]") for c in citations}


def test_built_reference_list_has_author_year_labels():
    labels = _built_labels()
    wrong = [label for label in labels.values() if not AUTHOR_YEAR_LABEL.match(label)]
    assert not wrong, f"labels that are not 'names, year' (rebuild the book: make book): {wrong}"
    assert len(set(labels.values())) == len(labels), "two entries share a label"


def test_in_text_citations_print_their_labels():
    """A citation in a chapter reads as the label it links to (its year alone, for a textual one)."""
    from bs4 import BeautifulSoup

    labels = _built_labels()
    mismatches, seen = [], 0
    for page in sorted(REFERENCES_PAGE.parent.glob("*.html")):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for link in soup.select(".bibtex-citation a[href^='references.html#']"):
            seen += 1
            label = labels.get(link["href"].split("#", 1)[1])
            text = link.get_text()
            if label is None or not (text == label or label.endswith(f", {text}")):
                mismatches.append(f"{page.name}: {text!r} links to the entry labelled {label!r}")
    assert seen, "no chapter cites the reference list"
    assert not mismatches, "\n".join(mismatches[:10])
