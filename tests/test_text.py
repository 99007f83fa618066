import bz2
from collections import Counter
from xml.sax.saxutils import escape

import pytest

from ptm_lib.data import sources, text


@pytest.fixture(autouse=True)
def fresh_cache():
    text.clear_cache()
    yield
    text.clear_cache()


def test_tokenize_keeps_inner_apostrophes_hyphens_and_numbers():
    assert text.tokenize("Don't panic: State-of-the-art models cost $3.5m in 2019!") == [
        "don't", "panic", "state-of-the-art", "models", "cost", "3.5", "m", "in", "2019"]
    assert text.tokenize("It\u2019s 1,000 -- 'quoted' words... (ok)") == [
        "it's", "1,000", "quoted", "words", "ok"]
    assert text.tokenize("Café naïve") == ["café", "naïve"]
    assert text.tokenize(" -- ... ") == []
    assert text.tokenize("Paris isn't ROME.", lower=False) == ["Paris", "isn't", "ROME"]


WIKI = """{{Infobox thing|name={{lang|fr|Chose}}|image=[[File:X.png|thumb|a [[nested]] caption]]}}
'''Anarchism''' is a [[political philosophy]] that advocates [[self-governance|self-governed]] \
societies.<ref name="a">{{cite book|title=Refs {{nested}} here}}</ref> It is \
''stateless''.<ref name="b"/> See [http://example.org the site] or http://example.com/x.
<!-- a hidden comment -->
[[Image:Flag.svg|200px|A flag with a [[star]]]]
== History ==
{| class="wikitable"
|-
| cell {{tmpl|x}} || [[Link in table]]
|}
* First item with <span style="x">styled</span> text &amp; more
[[Category:Political ideologies]]
[[:Category:Shown|shown category]] and {{convert|1|km}}.
<math>x^2</math>Done."""


def test_strip_wiki_markup():
    plain = text.strip_wiki_markup(WIKI)
    assert "Anarchism is a political philosophy that advocates self-governed societies. " \
           "It is stateless. See the site or." in plain
    assert "\nHistory\n" in plain
    assert "First item with styled text & more" in plain
    assert "shown category and." in plain
    assert plain.endswith("Done.")
    for junk in ("{", "}", "[", "]", "|", "<", ">", "'''", "''", "==", "http", "cite",
                 "Infobox", "nested", "caption", "flag", "star", "cell", "Link in table",
                 "hidden", "Political ideologies", "x^2", "thumb", "&amp;"):
        assert junk not in plain, junk


def test_strip_braces_nested_and_unbalanced():
    assert text.strip_wiki_markup("a {{x|{{y|z}}|}} b") == "a b"
    assert text.strip_wiki_markup("a\n{|\n| {{t|{|}} x\n|}\nb") == "a\n\nb"
    assert text.strip_wiki_markup("a }} b") == "a }} b"
    assert text.strip_wiki_markup("kept {{never closed") == "kept {{never closed"


def _page(title, body, ns=0, redirect=False):
    red = f'<redirect title="{title}x" />' if redirect else ""
    return (f"<page><title>{title}</title><ns>{ns}</ns><id>1</id>{red}"
            f"<revision><text xml:space=\"preserve\">{escape(body)}</text></revision></page>")


def test_wikipedia_loader_keeps_articles_only(tmp_path, monkeypatch):
    xml = ('<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/">'
           + _page("Alpha", "'''Alpha''' is [[first]].<ref>{{cite|x}}</ref> It's 3.5 m.")
           + _page("Redirect", "#REDIRECT [[Alpha]]", redirect=True)
           + _page("Wikipedia:Page", "project text", ns=4)
           + _page("Beta", "Beta{{tmpl}} [[Category:Letters]]")
           + "</mediawiki>")
    path = tmp_path / "wiki.xml.bz2"
    path.write_bytes(bz2.compress(xml.encode()))
    monkeypatch.setattr(sources, "path", lambda name, key: {("enwiki_sample", "xml"): path}[name, key])
    assert text.wikipedia_text() == [("Alpha", "Alpha is first. It's 3.5 m."), ("Beta", "Beta")]
    docs = text.load_wikipedia()
    assert docs == [["alpha", "is", "first", "it's", "3.5", "m"], ["beta"]]
    docs[0].clear()  # callers get copies: the cache is unchanged
    assert text.load_wikipedia()[0][0] == "alpha"


PTB_MODULE = '''raise RuntimeError("this file must never be executed")
import os
penn = {}
penn['train'] = """ aer banknote
 the cat sat on the <unk> 
 N cats sat 

"""
penn['valid'] = """ the dog sat 
"""
penn['test'] = """ a <unk> cat 
"""
'''


def test_ptb_is_parsed_with_ast_never_executed(tmp_path, monkeypatch):
    path = tmp_path / "__init__.py"
    path.write_text(PTB_MODULE)
    monkeypatch.setattr(sources, "path", lambda name, key: {("ptb", "module"): path}[name, key])
    ptb = text.load_ptb()
    assert ptb == {"train": [["aer", "banknote"], ["the", "cat", "sat", "on", "the", "<unk>"],
                             ["N", "cats", "sat"]],
                   "valid": [["the", "dog", "sat"]],
                   "test": [["a", "<unk>", "cat"]]}
    assert text.with_eos(ptb["valid"]) == [["the", "dog", "sat", "<eos>"]]
    assert ptb["valid"] == [["the", "dog", "sat"]]  # with_eos does not change its input
    ptb["train"].clear()
    assert len(text.load_ptb()["train"]) == 3


def test_ptb_module_without_splits_is_an_error():
    with pytest.raises(ValueError, match="no string literal"):
        text.parse_ptb_module("penn = {}\npenn['train'] = 'x'\n")


@pytest.fixture
def fake_bbc(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    sizes = {"business": 10, "sports": 5, "tech": 7}
    for topic, n in sizes.items():
        (folder / topic).mkdir(parents=True)
        for i in range(n, 0, -1):
            (folder / topic / f"{i:03d}.txt").write_text(
                f"{topic} headline {i}\n\nBody of {topic} story {i}.\n")
    (folder / "sports" / "002.txt").write_bytes(b"Mutu fee\n\nA \xa315.8m signing.\n")  # latin-1
    monkeypatch.setattr(sources, "path",
                        lambda name, key: {("bbc_news", "articles"): folder}[name, key])
    return sizes


def test_load_bbc_sorted_and_decoded(fake_bbc):
    docs = text.load_bbc()
    assert len(docs) == 22
    assert [(t, i) for t, i, _ in docs] == sorted((t, i) for t, i, _ in docs)
    assert docs[0][:2] == ("business", "001")
    assert docs[0][2].startswith("business headline 1\n")
    assert ("sports", "002", "Mutu fee\n\nA £15.8m signing.\n") in docs
    assert text.load_bbc_tokens()[0] == ["business", "headline", "1", "body", "of",
                                         "business", "story", "1"]


def test_bbc_split_stratified_disjoint_deterministic(fake_bbc):
    split = text.bbc_split()
    docs = text.load_bbc()
    assert sorted(split["train"] + split["test"]) == list(range(len(docs)))
    assert not set(split["train"]) & set(split["test"])
    assert Counter(docs[i][0] for i in split["test"]) == {"business": 2, "sports": 1, "tech": 1}
    assert text.bbc_split() == split
    text.clear_cache()
    assert text.bbc_split() == split  # depends on the files, not on a cache or a global RNG
    other = text.bbc_split(seed=1)
    assert other != split and len(other["test"]) == len(split["test"])
    assert len(text.bbc_split(test_fraction=0.5)["test"]) == 5 + 2 + 4  # round half to even


def test_stratified_split_ignores_list_order():
    keys = [f"k{i}" for i in range(40)]
    labels = ["a" if i % 4 else "b" for i in range(40)]
    split = text.stratified_split(keys, labels, test_fraction=0.25, seed=3)
    test_keys = {keys[i] for i in split["test"]}
    reversed_split = text.stratified_split(keys[::-1], labels[::-1], 0.25, seed=3)
    assert {keys[::-1][i] for i in reversed_split["test"]} == test_keys
    with pytest.raises(ValueError, match="test_fraction"):
        text.stratified_split(keys, labels, test_fraction=1.0)


@pytest.fixture
def one_wiki_page(fake_bbc, tmp_path, monkeypatch):
    """The fake BBC articles plus a Wikipedia sample of one page, "Wiki words here."."""
    bbc_path = sources.path("bbc_news", "articles")
    wiki = tmp_path / "wiki.xml.bz2"
    wiki.write_bytes(bz2.compress(
        ('<mediawiki xmlns="x">' + _page("W", "Wiki words here.") + "</mediawiki>").encode()))
    files = {("bbc_news", "articles"): bbc_path, ("enwiki_sample", "xml"): wiki}
    monkeypatch.setattr(sources, "path", lambda name, key: files[name, key])


def test_pretraining_corpus_excludes_bbc_test(one_wiki_page):
    corpus = text.pretraining_corpus()
    tokens = text.load_bbc_tokens()
    split = text.bbc_split()
    assert corpus[0] == ["wiki", "words", "here"]
    assert corpus[1:] == [tokens[i] for i in split["train"]]
    assert len(corpus) == 1 + 22 - 4


def test_pretraining_texts_and_held_out_articles_are_the_same_documents_in_every_form(one_wiki_page):
    docs, split = text.load_bbc(), text.bbc_split()
    raw = text.pretraining_texts()
    assert raw == ["Wiki words here."] + [docs[i][2] for i in split["train"]]
    assert [text.tokenize(r) for r in raw] == text.pretraining_corpus()
    held = text.held_out_articles()
    assert held == [docs[i] for i in split["test"]] and len(held) == 4
    assert text.held_out_corpus() == [text.tokenize(raw) for _, _, raw in held]
    assert not {(t, i) for t, i, _ in held} & {docs[i][:2] for i in split["train"]}  # never pretrained on


# ---------------------------------------------------------------------------- sentences

PARAGRAPH = ('Mr. Smith paid $3.5m for the firm on Jan. 5 and J. K. Rowling said: "It is a '
             'bargain." Was it? Prices rose 2.5% in 2004! Dr. Jones, of the U.S. Treasury, '
             "disagreed. He said no. 'Not now,' she said")


def test_split_sentences_skips_abbreviations_initials_and_numbers():
    assert text.split_sentences(PARAGRAPH) == [
        'Mr. Smith paid $3.5m for the firm on Jan. 5 and J. K. Rowling said: "It is a bargain."',
        "Was it?",
        "Prices rose 2.5% in 2004!",
        "Dr. Jones, of the U.S. Treasury, disagreed.",
        "He said no.",
        "'Not now,' she said",
    ]
    assert text.split_sentences("") == []
    assert text.split_sentences("one. two. Three") == ["one. two.", "Three"]


def test_bbc_sentences_drop_the_headline_and_normalise():
    article = ("Prices Rise In 2004\n\nPrices rose 2.5%. Mr. Brown was pleased.\n\n"
               'He said: "Good."\n')
    assert text.bbc_sentences(article) == ["prices rose 2.5", "mr brown was pleased",
                                            "he said good"]
    assert text.bbc_sentences(article, include_headline=True)[0] == "prices rise in 2004"


# ---------------------------------------------------------------------------- topics


@pytest.fixture
def fake_bbc_topics(monkeypatch):
    topics = ["business"] * 6 + ["sports"] * 4 + ["tech"] * 5
    docs = [(t, f"{i:03d}", f"Headline {i}\n\nStory {i} about {t}.") for i, t in enumerate(topics)]
    split = {"train": [i for i in range(15) if i % 3], "test": [i for i in range(15) if not i % 3]}
    monkeypatch.setattr(text, "load_bbc", lambda: list(docs))
    monkeypatch.setattr(text, "load_bbc_tokens", lambda: [text.tokenize(d[2]) for d in docs])
    monkeypatch.setattr(text, "bbc_split", lambda: split)
    return docs, split


def test_bbc_topics_labels_and_per_class(fake_bbc_topics):
    docs, split = fake_bbc_topics
    texts, labels, names = text.bbc_topics("train")
    assert names == ["business", "sports", "tech"]
    assert texts[0] == "headline 1 story 1 about business"
    assert [names[y] for y in labels] == [docs[i][0] for i in split["train"]]
    texts2, labels2, _ = text.bbc_topics("train", per_class=2, seed=5)
    assert Counter(labels2) == {0: 2, 1: 2, 2: 2}
    assert set(texts2) <= set(texts)
    assert text.bbc_topics("train", per_class=2, seed=5)[0] == texts2
    with pytest.raises(ValueError, match="at most"):
        text.bbc_topics("test", per_class=3)  # sports has only 1 test article
    with pytest.raises(ValueError, match="split must be one of"):
        text.bbc_topics("valid")
