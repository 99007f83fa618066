"""Author–year labels for the book's reference list (a local Sphinx extension, see ``_config.yml``).

sphinxcontrib-bibtex formats the in-text citations with ``bibtex_reference_style`` and the reference
list with a pybtex style (``bibtex_default_style``), whose label style gives alpha labels such as
``[DCLT19]`` by default. This extension registers with pybtex's plugin registry:

* ``book_author_year`` (``pybtex.style.labels``): labels such as ``Devlin et al., 2019``, ``Zeiler and
  Fergus, 2014`` or ``Wikipedia contributors, 2016``; the names come from the authors, else the editors,
  else the ``organization``, ``institution`` or ``key`` field, else the title (up to its first comma,
  colon or bracket); an entry without a year gets ``n.d.``; labels that would be equal get ``a``, ``b``…
  after the year, in reference-list order (``Peters et al., 2018a``);
* ``book_author_year`` (``pybtex.style.sorting``): the list sorted by those names, then year, then title;
* ``book_author_year`` (``pybtex.style.formatting``): pybtex's unsrt entry format with those two, the
  style that ``bibtex_default_style`` names;

and with sphinxcontrib-bibtex's registry ``book_author_year`` (``sphinxcontrib.bibtex.style.referencing``):
its ``author_year`` style, except that ``:cite:p:``, ``:cite:t:`` and ``:cite:year:`` (and their variants)
print the label's names and year, so that the text cites ``Peters et al., 2018a`` where the list says so.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Iterator

import pybtex.plugin
from pybtex.richtext import Tag, Text
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting import BaseSortingStyle
from pybtex.style.template import node
from sphinxcontrib.bibtex.plugin import register_plugin
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle
from sphinxcontrib.bibtex.style.referencing.basic_author_year import (
    BasicAuthorYearParentheticalReferenceStyle,
    BasicAuthorYearTextualReferenceStyle,
)
from sphinxcontrib.bibtex.style.referencing.extra_year import ExtraYearReferenceStyle
from sphinxcontrib.bibtex.style.template import join, join2, post_text, pre_text, reference

if TYPE_CHECKING:
    from pybtex.database import Entry, Person
    from sphinx.application import Sphinx

STYLE_NAME = "book_author_year"
NO_YEAR = "n.d."
ET_AL = "et al."
NAME_YEAR_SEP = ", "
# Fields that name who is responsible for an entry that has no author and no editor, in order.
NAME_FIELDS = ("organization", "institution", "key")
_TITLE_END = re.compile(r"[,:;(\[]")


def _plain(latex: str) -> str:
    """A BibTeX field's text without its LaTeX markup (``Karafi{\\'a}t`` -> ``Karafiát``)."""
    return Text.from_latex(latex).render_as("text").strip()


def _surname(person: Person) -> str:
    """A person's surname with its particles, as cited (``van der Maaten``, ``Wikipedia contributors``)."""
    return " ".join(part.render_as("text") for part in person.rich_prelast_names + person.rich_last_names)


def _persons_label(persons: list[Person]) -> str:
    """``Collins``, ``Zeiler and Fergus`` or ``Devlin et al.``: the names as the in-text citations give them."""
    surnames = [_surname(person) for person in persons if str(person) != "others"]
    if len(persons) >= 3 or len(surnames) < len(persons):
        return f"{surnames[0]} {ET_AL}"
    return " and ".join(surnames)


def _short_title(title: str) -> str:
    """A title up to its first comma, colon, semicolon or bracket (``The Holy Bible``)."""
    return _TITLE_END.split(title, maxsplit=1)[0].strip() or title


def entry_names(entry: Entry) -> str:
    """The names part of an entry's label: its authors, else editors, else organisation, else title."""
    for role in ("author", "editor"):
        if entry.persons.get(role):
            return _persons_label(entry.persons[role])
    for name_field in NAME_FIELDS:
        if entry.fields.get(name_field):
            return _plain(entry.fields[name_field])
    if entry.fields.get("title"):
        return _short_title(_plain(entry.fields["title"]))
    raise ValueError(
        f"Bibliography entry {entry.key!r} has no author, editor, organization or title to cite it by: "
        "give it an `author` (or an `organization`) in references.bib"
    )


def entry_year(entry: Entry) -> str:
    """An entry's year as cited, ``n.d.`` (no date) when it has none."""
    return _plain(entry.fields["year"]) if entry.fields.get("year") else NO_YEAR


def _sort_text(text: str) -> str:
    """Text folded for sorting: no accents, no case (``Černocký`` sorts as ``cernocky``)."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels ``<names>, <year>``, with a letter after the year where two entries would share one."""

    def format_label(self, entry: Entry) -> str:
        """The label of one entry, before labels that clash get their letters."""
        return f"{entry_names(entry)}{NAME_YEAR_SEP}{entry_year(entry)}"

    def format_labels(self, sorted_entries: Iterable[Entry]) -> Iterator[str]:
        """The labels of the entries in list order: clashing ones get ``a``, ``b``… (``n.d.-a`` without a year)."""
        labels = [self.format_label(entry) for entry in sorted_entries]
        total = Counter(labels)
        seen: Counter[str] = Counter()
        for label in labels:
            if total[label] == 1:
                yield label
                continue
            letter = chr(ord("a") + seen[label])
            seen[label] += 1
            yield f"{label}-{letter}" if label.endswith(NO_YEAR) else f"{label}{letter}"


class AuthorYearSortingStyle(BaseSortingStyle):
    """The list in the order of its labels' names, then year, then title."""

    def sorting_key(self, entry: Entry) -> tuple[str, str, str]:
        """The key of one entry: names, year and title, folded for sorting."""
        title = _plain(entry.fields.get("title", ""))
        return _sort_text(entry_names(entry)), entry_year(entry), _sort_text(title)


class AuthorYearStyle(UnsrtStyle):
    """pybtex's unsrt entries, labelled and sorted author–year (the style ``bibtex_default_style`` names)."""

    default_label_style = STYLE_NAME
    default_sorting_style = STYLE_NAME


# ------------------------------------------------------------------ in-text citations that match the labels


def _label_parts(data: dict) -> tuple[str, str]:
    """The names and the year (with its letter) of the label of the entry being cited."""
    label = data["formatted_entry"].label
    names, sep, year = label.rpartition(NAME_YEAR_SEP)
    if not sep or not year.startswith(entry_year(data["entry"])):
        raise ValueError(
            f"The citation label {label!r} is not '<names>, <year>': bibtex_reference_style {STYLE_NAME!r} "
            f"needs bibtex_default_style {STYLE_NAME!r} in _config.yml"
        )
    return names, year


@node
def label_names(children, data) -> Text:
    """The names of the cited entry's label, with ``et al.`` in italics as sphinxcontrib-bibtex writes it."""
    assert not children
    names = _label_parts(data)[0]
    if names.endswith(f" {ET_AL}"):
        return Text(names.removesuffix(ET_AL), Tag("em", ET_AL))
    return Text(names)


@node
def label_year(children, data) -> Text:
    """The year of the cited entry's label, with its letter (``2018a``)."""
    assert not children
    return Text(_label_parts(data)[1])


def _names(person_style, role_name: str):
    """The names template of a role: the label's names, or every author for the ``s`` roles (``cite:ps``)."""
    return person_style.author_or_editor_or_title(full=True) if role_name.endswith("s") else label_names


@dataclass
class LabelParentheticalReferenceStyle(BasicAuthorYearParentheticalReferenceStyle):
    """``[Devlin et al., 2019]``: the label's names and year."""

    def inner(self, role_name: str):
        """The template of one reference."""
        return join2(sep1=self.pre_text_sep, sep2=self.post_text_sep)[
            pre_text,
            reference[join(sep=self.author_year_sep)[_names(self.person, role_name), label_year]],
            post_text,
        ]


@dataclass
class LabelTextualReferenceStyle(BasicAuthorYearTextualReferenceStyle):
    """``Devlin et al. [2019]``: the label's names, then its year in brackets."""

    def inner(self, role_name: str):
        """The template of one reference."""
        return join(sep=self.text_reference_sep)[
            _names(self.person, role_name),
            join[
                self.bracket.left,
                join2(sep1=self.pre_text_sep, sep2=self.post_text_sep)[pre_text, reference[label_year], post_text],
                self.bracket.right,
            ],
        ]


@dataclass
class LabelYearReferenceStyle(ExtraYearReferenceStyle):
    """``2018a``: the label's year."""

    def inner(self, role_name: str):
        """The template of one reference."""
        return reference[label_year]


@dataclass
class LabelAuthorYearReferenceStyle(AuthorYearReferenceStyle):
    """sphinxcontrib-bibtex's ``author_year`` citations, with the names and years of the list's labels."""

    def __post_init__(self):
        super().__post_init__()
        label_styles = [
            LabelParentheticalReferenceStyle(
                bracket=self.bracket_parenthetical,
                person=self.person,
                author_year_sep=self.author_year_sep,
                pre_text_sep=self.pre_text_sep,
                post_text_sep=self.post_text_sep,
            ),
            LabelTextualReferenceStyle(
                bracket=self.bracket_textual,
                person=self.person,
                text_reference_sep=self.text_reference_sep,
                pre_text_sep=self.pre_text_sep,
                post_text_sep=self.post_text_sep,
            ),
            LabelYearReferenceStyle(bracket=self.bracket_year),
        ]
        self.role_style.update((name, style) for style in label_styles for name in style.role_names())


def register_styles() -> None:
    """Register the styles under ``book_author_year`` (again is harmless: it replaces them)."""
    pybtex.plugin.register_plugin("pybtex.style.labels", STYLE_NAME, AuthorYearLabelStyle, force=True)
    pybtex.plugin.register_plugin("pybtex.style.sorting", STYLE_NAME, AuthorYearSortingStyle, force=True)
    pybtex.plugin.register_plugin("pybtex.style.formatting", STYLE_NAME, AuthorYearStyle, force=True)
    register_plugin("sphinxcontrib.bibtex.style.referencing", STYLE_NAME, LabelAuthorYearReferenceStyle, force=True)


def setup(app: Sphinx) -> dict:
    """Sphinx entry point: register the styles (``_config.yml`` selects them)."""
    register_styles()
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
