"""The English–Chinese glossary (chapters/appendix_glossary.md) settles one Chinese term per idea.

The glossary is a set of Sphinx ``{glossary}`` blocks. Each entry is one or more English term
lines, then one Chinese headword line, then an indented definition: a one-line meaning, and a
paragraph with the variants (``又作：A、B``), the sections that explain the term ({numref} or
{ref} to a label) and the library objects that implement it (```ptm_lib.x.y```):

    masked language model (MLM)
    遮蔽语言模型
      BERT's main pretraining task: hide some of the tokens and predict them from both sides.

      又作：掩蔽语言模型、掩码语言模型 · See {numref}`§{number} {name} <sec-bert-mlm>` ·
      Code: `ptm_lib.data.mlm.mask_for_mlm`

Chapters mark a term with the {term} role ({term}`masked LM <masked language model (MLM)>`); the
book's build (--warningiserror) rejects a term that is not in the glossary, and this test
rejects it without a build. It also fails if the glossary has fewer than MIN_ENTRIES entries,
if an entry has no Chinese headword (or more than one), if two entries share a headword or an
English term, if a variant of one entry is another entry's headword, or if an entry links
nowhere: every label it names must be defined in a chapter, every ``ptm_lib`` name must import.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"
GLOSSARY = CHAPTERS / "appendix_glossary.md"
MIN_ENTRIES = 150

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
GLOSSARY_BLOCK = re.compile(r"^```\{glossary\}[^\n]*\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
SECTION_ROLE = re.compile(r"\{(?P<role>ref|numref|doc)\}`(?P<content>[^`]*)`")
LIBRARY_NAME = re.compile(r"`(?P<name>ptm_lib(?:\.\w+)+)`")
VARIANTS = re.compile(r"又作：(?P<list>[^·\n]*)")
TERM_ROLE = re.compile(r"\{term\}`(?P<content>[^`]*)`")
LABEL = re.compile(r"^\((?P<label>[^()\s]+)\)=[ \t]*$", re.M)
FIGURE_NAME = re.compile(r"^:name:[ \t]*(?P<label>\S+)[ \t]*$", re.M)


@dataclass
class Entry:
    """One glossary entry: its term lines as written, its definition, and where it starts."""

    terms: list[str]
    definition: str
    line: int
    english: list[str] = field(init=False)
    headwords: list[str] = field(init=False)

    def __post_init__(self):
        self.english = [t for t in self.terms if not CJK.search(t)]
        self.headwords = [t for t in self.terms if CJK.search(t)]

    @property
    def name(self) -> str:
        return f"line {self.line} ({' / '.join(self.terms)})"

    @property
    def variants(self) -> list[str]:
        found = VARIANTS.search(self.definition)
        return [v.strip() for v in re.split(r"[、,，]", found["list"]) if v.strip()] if found else []

    @property
    def section_links(self) -> list[tuple[str, str]]:
        """(role, target) of every {ref}, {numref} and {doc} in the definition."""
        return [(m["role"], role_target(m["content"])) for m in SECTION_ROLE.finditer(self.definition)]

    @property
    def library_names(self) -> list[str]:
        return [m["name"] for m in LIBRARY_NAME.finditer(self.definition)]

    @property
    def meaning(self) -> str:
        """The definition's first paragraph."""
        return self.definition.strip().split("\n\n")[0].strip()


def term_key(text: str) -> str:
    """The name Sphinx files a term under and matches {term} against: its text, markup removed,
    lower case (sphinx.domains.std: terms are noted by ``astext()``, looked up case-insensitively)."""
    return " ".join(re.sub(r"[`*]", "", text).split()).lower()


def role_target(content: str) -> str:
    """A role's target: ``text <target>`` -> ``target``, else the whole content."""
    explicit = re.fullmatch(r"(?s).*?<(?P<target>[^<>]+)>\s*", content)
    return (explicit["target"] if explicit else content).strip()


def parse_glossary(text: str) -> list[Entry]:
    """Every entry of every ``{glossary}`` block of ``text``, in order."""
    entries = []
    for block in GLOSSARY_BLOCK.finditer(text):
        first_line = text.count("\n", 0, block.start("body")) + 1
        terms: list[str] = []
        definition: list[str] = []
        start = first_line
        for offset, line in enumerate(block["body"].split("\n")):
            if not terms and (not line.strip() or line.startswith(":")):
                continue  # blank lines and directive options (:sorted:) before the first term
            if line.strip() and not line[0].isspace():  # a term line
                if definition:  # ... after a definition: the previous entry is complete
                    entries.append(Entry(terms, "\n".join(definition).strip(), start))
                    terms, definition = [], []
                if not terms:
                    start = first_line + offset
                terms.append(line.strip())
            elif definition or line.strip():
                definition.append(line.strip())
        if terms:
            entries.append(Entry(terms, "\n".join(definition).strip(), start))
    return entries


def defined_labels(chapters: Path) -> set[str]:
    """The MyST labels (``(label)=``) and figure names defined in the chapters' markdown."""
    labels = set()
    for text in markdown_texts(chapters).values():
        labels |= {m["label"] for m in LABEL.finditer(text)}
        labels |= {m["label"] for m in FIGURE_NAME.finditer(text)}
    return labels


def markdown_texts(chapters: Path) -> dict[str, str]:
    """The markdown of every chapter page: each .md file, and each notebook's markdown cells."""
    texts = {}
    for path in sorted(chapters.glob("*.md")):
        texts[path.name] = path.read_text(encoding="utf-8")
    for path in sorted(chapters.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        texts[path.name] = "\n\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    return texts


def resolves(dotted: str) -> bool:
    """Whether ``ptm_lib.module.Object.attribute`` names something that imports."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attribute in parts[cut:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            return False
        return True
    return False


def entry_problems(entries: list[Entry]) -> list[str]:
    """What is wrong with the entries themselves: headwords, English terms, meanings, duplicates."""
    problems = []
    for entry in entries:
        if len(entry.headwords) != 1:
            problems.append(f"{entry.name}: {len(entry.headwords)} Chinese headword lines, not one")
        if not entry.english:
            problems.append(f"{entry.name}: no English term")
        if not re.search(r"[A-Za-z]", entry.meaning) or entry.meaning.startswith("又作"):
            problems.append(f"{entry.name}: no one-line meaning before the variants and links")
        for variant in entry.variants:
            if not CJK.search(variant):
                problems.append(f"{entry.name}: variant {variant!r} is not Chinese")
    for what, values in (("English term", lambda e: e.english), ("headword", lambda e: e.headwords)):
        seen: dict[str, Entry] = {}
        for entry in entries:
            for value in values(entry):
                key = term_key(value)
                if key in seen and seen[key] is not entry:
                    problems.append(f"{entry.name}: {what} {value!r} is also in {seen[key].name}")
                seen.setdefault(key, entry)
    headwords = {term_key(h): e for e in entries for h in e.headwords}
    for entry in entries:
        for variant in entry.variants:
            other = headwords.get(term_key(variant))
            if other is not None and other is not entry:
                problems.append(f"{entry.name}: variant {variant!r} is the headword of {other.name}")
    return problems


def link_problems(entries: list[Entry], labels: set[str], chapters: Path) -> list[str]:
    """Entries that link nowhere: no link at all, a label no chapter defines, a page that does not
    exist, or a ``ptm_lib`` name that does not import."""
    problems = []
    for entry in entries:
        if not entry.section_links and not entry.library_names:
            problems.append(f"{entry.name}: links nowhere (no section, no ptm_lib name)")
        for role, target in entry.section_links:
            if role == "doc":
                if not any((chapters / f"{target}{ext}").is_file() for ext in (".md", ".ipynb")):
                    problems.append(f"{entry.name}: {{doc}} {target!r} is not a page in chapters/")
            elif target not in labels:
                problems.append(f"{entry.name}: label {target!r} is not defined in any chapter")
        for name in entry.library_names:
            if not resolves(name):
                problems.append(f"{entry.name}: {name} does not import")
    return problems


def unknown_marks(texts: dict[str, str], entries: list[Entry]) -> list[str]:
    """Every {term} in ``texts`` whose target is not a term of the glossary."""
    known = {term_key(t) for e in entries for t in e.terms}
    return [f"{page}: {{term}}`{m['content']}`" for page, text in texts.items()
            for m in TERM_ROLE.finditer(text) if term_key(role_target(m["content"])) not in known]


ENTRIES = parse_glossary(GLOSSARY.read_text(encoding="utf-8"))


def test_the_glossary_has_enough_entries():
    assert len(ENTRIES) >= MIN_ENTRIES, f"the glossary has {len(ENTRIES)} entries; the book promises {MIN_ENTRIES}"


def test_every_entry_has_one_chinese_headword_and_no_duplicates():
    problems = entry_problems(ENTRIES)
    assert not problems, f"{len(problems)} problems in {GLOSSARY.name}:\n" + "\n".join(problems)


def test_every_entry_links_somewhere_that_exists():
    problems = link_problems(ENTRIES, defined_labels(CHAPTERS), CHAPTERS)
    assert not problems, f"{len(problems)} broken links in {GLOSSARY.name}:\n" + "\n".join(problems)


def test_every_marked_term_has_an_entry():
    texts = markdown_texts(CHAPTERS)
    marks = [m for text in texts.values() for m in TERM_ROLE.finditer(text)]
    assert marks, "no chapter marks a glossary term with {term}: the check would pass vacuously"
    unknown = unknown_marks(texts, ENTRIES)
    assert not unknown, ("terms marked in the chapters with no glossary entry (add the entry, or point the "
                         "role at an existing term with {term}`text <term>`):\n" + "\n".join(unknown))


@pytest.mark.parametrize("stem", ["intro", *sorted(p.stem for p in CHAPTERS.glob("[0-9]*.ipynb"))])
def test_every_chapter_marks_its_terms(stem):
    """Each chapter links its vocabulary to the glossary at the term's first or defining use."""
    text = markdown_texts(CHAPTERS)[next(CHAPTERS.glob(f"{stem}.*")).name]
    assert len(TERM_ROLE.findall(text)) >= 5, f"{stem} marks fewer than 5 glossary terms with {{term}}"


SAMPLE = """\
```{glossary}
:sorted:

masked language model (MLM)
遮蔽语言模型
  BERT's main pretraining task.

  又作：掩蔽语言模型、掩码语言模型 · See {ref}`sec-mlm` · Code: `ptm_lib.data.mlm.mask_for_mlm`

perplexity
困惑度
  The exponential of the average negative log-probability per token.

  See {numref}`§{number} {name} <sec-ppl>`
```
"""


def test_the_checks_catch_what_they_should(tmp_path):
    entries = parse_glossary(SAMPLE)
    assert [e.terms for e in entries] == [["masked language model (MLM)", "遮蔽语言模型"], ["perplexity", "困惑度"]]
    assert entries[0].variants == ["掩蔽语言模型", "掩码语言模型"]
    assert entries[1].section_links == [("numref", "sec-ppl")]
    assert entry_problems(entries) == []
    labels = {"sec-mlm", "sec-ppl"}
    assert link_problems(entries, labels, tmp_path) == []

    def broken(old: str, new: str) -> list[Entry]:
        assert old in SAMPLE
        return parse_glossary(SAMPLE.replace(old, new))

    # no Chinese headword; two headwords; a shared headword; a shared English term; a variant that is a headword
    assert entry_problems(broken("遮蔽语言模型\n", ""))
    assert entry_problems(broken("困惑度\n", "困惑度\n混乱度\n"))
    assert entry_problems(broken("困惑度\n", "遮蔽语言模型\n"))
    assert entry_problems(broken("perplexity\n", "masked language model (MLM)\n"))
    assert entry_problems(broken("掩码语言模型", "困惑度"))
    # a label no chapter defines, a library name that does not import, an entry with no link at all
    assert link_problems(entries, {"sec-mlm"}, tmp_path)
    assert link_problems(broken("mask_for_mlm", "mask_for_nothing"), labels, tmp_path)
    assert link_problems(broken("  See {numref}`§{number} {name} <sec-ppl>`", "  Nowhere."), labels, tmp_path)
    # a {term} with no entry; an explicit target and case do not matter
    texts = {"ch.md": "the {term}`masked LM <Masked Language Model (MLM)>` and {term}`困惑度`"}
    assert unknown_marks(texts, entries) == []
    assert unknown_marks({"ch.md": "{term}`perplexities`"}, entries) == ["ch.md: {term}`perplexities`"]
    # labels come from .md files and notebooks' markdown cells
    (tmp_path / "a.md").write_text("(sec-a)=\n## A\n", encoding="utf-8")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("(sec-b)=\n## B"),
                                               nbformat.v4.new_code_cell("(sec-c)=")])
    nbformat.write(notebook, tmp_path / "b.ipynb")
    assert defined_labels(tmp_path) == {"sec-a", "sec-b"}
