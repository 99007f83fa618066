"""The book's door for Chinese readers: the Chinese guide (中文导读) and every chapter's 中文摘要.

The guide must be in the table of contents, name the two Chinese articles the book retells,
and link every chapter; each chapter opens (right under its title) with a short Chinese
summary that names the section of Zhang Junlin's article it retells, so a reader can move
between the two. The browser test (tests/test_html.py) checks that the guide's Chinese is
drawn with a CJK font.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9]*.ipynb"))
GUIDE = ROOT / "chapters" / "zh_guide.md"

# The five sections of Zhang Junlin's "从Word Embedding到Bert模型" (2018), in order.
ZHANG_SECTIONS = ("图像领域的预训练", "Word Embedding考古史", "从Word Embedding到ELMO", "从Word Embedding到GPT",
                  "Bert的诞生")
SUMMARY_LIMIT = 200  # characters of the summary's text ("at most about 200")
SUMMARY = re.compile(r"\A# [^\n]+\n\n:::\{admonition\} 中文摘要\n:class: tip\n\n(?P<text>.+?)\n:::\n", re.S)


def chinese_summary(notebook: nbformat.NotebookNode) -> str:
    """The text of the 中文摘要 box right under the chapter's title ('' if there is none)."""
    first = next((c for c in notebook.cells if c.cell_type == "markdown"), None)
    match = SUMMARY.match(first.source) if first is not None else None
    return _rendered(match.group("text")) if match else ""


def _rendered(text: str) -> str:
    """MyST roles as a reader sees them: {doc}`中文导读 <zh_guide>` reads as 中文导读."""
    return re.sub(r"\{\w+\}`([^`<]*?)\s*(?:<[^>`]*>)?`", r"\1", text)


def summary_problems(text: str) -> list[str]:
    """What is wrong with a chapter's Chinese summary, in words a writer can act on."""
    if not text:
        return ["no 中文摘要 box right under the title (':::{admonition} 中文摘要' with ':class: tip')"]
    problems = []
    if len(text) > SUMMARY_LIMIT:
        problems.append(f"the summary is {len(text)} characters; keep it to {SUMMARY_LIMIT}")
    if not any(f"“{section}”" in text for section in ZHANG_SECTIONS):
        problems.append(f"the summary names no section of Zhang Junlin's article (one of {ZHANG_SECTIONS}, "
                        "in “” quotes)")
    if len(re.findall(r"[\u4e00-\u9fff]", text)) < len(text) // 3:
        problems.append("the summary is mostly not Chinese")
    return problems


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_chapter_opens_with_a_chinese_summary(path):
    problems = summary_problems(chinese_summary(nbformat.read(path, as_version=4)))
    assert not problems, f"{path.name}: " + "; ".join(problems)


def test_the_summary_check_catches_what_it_should():
    ok = "本章对应张俊林原文“Bert的诞生”一节。" + "预训练" * 10
    assert summary_problems(ok) == []
    assert summary_problems("")
    assert summary_problems(ok + "长" * SUMMARY_LIMIT)
    assert summary_problems(ok.replace("“Bert的诞生”", "某一节"))
    assert summary_problems("This chapter retells “Bert的诞生” in English, at some length.")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title\n\nNo summary here.")])
    assert chinese_summary(notebook) == ""
    assert _rendered("见{doc}`中文导读 <zh_guide>`。") == "见中文导读。"


def test_the_chinese_guide_names_both_articles_and_links_every_chapter():
    guide = GUIDE.read_text(encoding="utf-8")
    assert "张俊林" in guide and "{cite}`zhang2018wordembedding`" in guide
    assert "JayLou" in guide and "{cite}`jiang2020ptmfaq`" in guide
    for chapter in CHAPTERS:
        assert re.search(rf"\{{doc\}}`(?:[^`<]*<)?{chapter.stem}>?`", guide), (
            f"the guide's chapter table does not link {chapter.stem}")
    for section in ZHANG_SECTIONS:
        assert section in guide, f"the guide does not map Zhang Junlin's section {section!r} to a chapter"


def test_the_chinese_guide_is_in_the_table_of_contents():
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    assert re.search(r"^\s*- file: chapters/zh_guide\s*$", toc, re.M)


QA_HEADING = "## 问答：这一章的实验回答了什么"
QA_MIN_QUESTIONS = 2


def qa_problems(notebook: nbformat.NotebookNode) -> list[str]:
    """What is wrong with a chapter's 问答 section: questions readers ask, answered by the chapter's runs.

    The section is one markdown cell that opens with QA_HEADING, sits just before the hidden check
    cell at the end, and holds at least QA_MIN_QUESTIONS questions, each a bold '**问：…**' line
    followed by an '答：' line."""
    cells = [i for i, c in enumerate(notebook.cells) if c.cell_type == "markdown" and c.source.startswith(QA_HEADING)]
    if not cells:
        return [f"no '{QA_HEADING}' section"]
    problems = []
    if cells[-1] != len(notebook.cells) - 2:
        problems.append("the 问答 section is not the last cell before the hidden check cell")
    source = notebook.cells[cells[-1]].source
    pairs = re.findall(r"^\*\*问：[^\n]+\*\*\n答：\S", source, re.M)
    if len(pairs) < QA_MIN_QUESTIONS:
        problems.append(f"the 问答 section has {len(pairs)} questions ('**问：…**' then '答：…'); "
                        f"it needs at least {QA_MIN_QUESTIONS}")
    if len(pairs) != source.count("问："):
        problems.append("a '问：' in the 问答 section is not a bold line followed by an '答：' line")
    return problems


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_chapter_ends_with_questions_its_runs_answer(path):
    problems = qa_problems(nbformat.read(path, as_version=4))
    assert not problems, f"{path.name}: " + "; ".join(problems)


def test_the_qa_check_catches_what_it_should():
    def chapter(*markdown):
        cells = [nbformat.v4.new_markdown_cell(m) for m in markdown]
        return nbformat.v4.new_notebook(cells=cells + [nbformat.v4.new_code_cell("assert True")])
    one = "**问：甲？**\n答：乙。\n"
    assert qa_problems(chapter("## Exercises", f"{QA_HEADING}\n\n{one}\n{one}")) == []
    assert qa_problems(chapter("## Exercises"))
    assert qa_problems(chapter(f"{QA_HEADING}\n\n{one}"))  # one question is too few
    assert qa_problems(chapter(f"{QA_HEADING}\n\n{one}\n{one}", "## Exercises"))  # not just before the checks
    assert qa_problems(chapter(f"{QA_HEADING}\n\n{one}\n问：丙？\n答：丁。\n"))  # a question not in bold
