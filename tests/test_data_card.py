"""data/README.md (the data card) and the data hub's registry must agree."""

import re
from pathlib import Path

import pytest

from ptm_lib.data import sources

ROOT = Path(__file__).resolve().parent.parent
CARD = (ROOT / "data" / "README.md").read_text()
BIB_KEYS = set(re.findall(r"@\w+\{([^,]+),", (ROOT / "references.bib").read_text()))
SECTION = re.compile(r"^### `(\w+)`\n(.*?)(?=^#|\Z)", re.M | re.S)
CARD_SECTIONS = dict(SECTION.findall(CARD))


@pytest.mark.parametrize("name", sorted(sources.REGISTRY))
def test_every_source_is_on_the_card_with_its_licence(name):
    source = sources.REGISTRY[name]
    assert name in CARD_SECTIONS, f"data/README.md needs a section ### `{name}`"
    text = " ".join(CARD_SECTIONS[name].split())
    assert f"`{source.distribution}=={source.version}`" in text
    for member, _ in source.files.values():
        assert f"`{member}`" in text, f"{member} is not named on the card"
    licence = re.split(r"[;(]", source.licence)[0].strip()
    assert licence in text, f"licence {licence!r} missing from the card"
    assert source.citation in BIB_KEYS, f"{source.citation} is not a key of references.bib"
    assert f"{{cite}}`{source.citation}`" in text


def test_card_lists_no_unregistered_source():
    assert sorted(CARD_SECTIONS) == sorted(sources.REGISTRY)
