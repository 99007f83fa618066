"""Bad inputs to the data sources (ptm_lib.data.sources): each gets a clear error that names the fix,
and the cache never loses what it verified. Fully offline, like tests/test_data_sources.py, whose
fake wheels and fixtures these tests reuse (the cache lives in tmp_path)."""

from __future__ import annotations

import shutil

import pytest
from test_data_sources import (  # noqa: F401  (fixtures: registry is autouse, links and folder_links on request)
    A_TXT,
    FOLDER_FILES,
    folder_links,
    folder_source,
    links,
    make_wheel,
    manifest_sha256,
    registry,
    source,
)

from ptm_lib.data import sources


def files_under(folder) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def go_offline(links) -> None:
    """Empty the find-links folder: any download attempt now fails."""
    shutil.rmtree(links)
    links.mkdir()


class TestDataHub:
    def test_ds_store_in_a_cached_folder_is_moved_aside_and_nothing_is_lost(self, folder_links):
        sources.register(folder_source())
        folder = sources.path("folder", "news")
        (folder / ".DS_Store").write_bytes(b"\0Bud1 finder junk")
        go_offline(folder_links)
        with pytest.warns(sources.ExtraFilesWarning,
                          match=r"\.DS_Store.*moved to .*news\.extra-.*Delete that folder"):
            assert sources.fetch("folder")["news"] == folder
        assert files_under(folder) == FOLDER_FILES
        (aside,) = folder.parent.glob("news.extra-*")
        assert files_under(aside) == {".DS_Store": b"\0Bud1 finder junk"}

    def test_ds_store_in_a_cache_made_before_manifests_were_kept(self, folder_links):
        sources.register(folder_source())
        folder = sources.path("folder", "news")
        sources._manifest_path(folder).unlink()  # as in a cache filled by an older ptm_lib
        (folder / "topic_b" / ".DS_Store").write_bytes(b"junk")
        go_offline(folder_links)
        with pytest.warns(sources.ExtraFilesWarning, match=r"topic_b/\.DS_Store"):
            sources.fetch("folder")
        assert files_under(folder) == FOLDER_FILES

    def test_junk_beside_a_hidden_file_of_the_data_set_in_an_old_cache(self, links):
        files = {**FOLDER_FILES, ".gitattributes": b"*.bin binary\n"}  # as MiniLM's folder has
        make_wheel(links, "hiddenfolder", "1.0", {f"hiddenfolder/news/{p}": x for p, x in files.items()})
        sources.register(source(name="hidden", distribution="hiddenfolder",
                            files={"news": ("hiddenfolder/news/", manifest_sha256(files))}))
        folder = sources.path("hidden", "news")
        sources._manifest_path(folder).unlink()
        (folder / "topic_a" / "._001.txt").write_bytes(b"AppleDouble")
        with pytest.warns(sources.ExtraFilesWarning, match=r"topic_a/\._001\.txt"):
            sources.fetch("hidden")
        assert files_under(folder) == files

    def test_an_added_article_is_moved_out_so_readers_see_only_verified_files(self, folder_links):
        sources.register(folder_source())
        folder = sources.path("folder", "news")
        (folder / "topic_a" / "003.txt").write_bytes(b"not from the archive")
        with pytest.warns(sources.ExtraFilesWarning, match=r"topic_a/003\.txt"):
            sources.fetch("folder")
        assert sorted(folder.glob("*/*.txt")) == sorted(folder / p for p in FOLDER_FILES)

    def test_a_changed_folder_is_quarantined_not_deleted(self, folder_links):
        sources.register(folder_source())
        folder = sources.path("folder", "news")
        (folder / "topic_a" / "001.txt").write_bytes(b"edited")
        go_offline(folder_links)
        changed = r"topic_a/001\.txt \(changed\).*moved to .*news\.corrupt-.*nothing was deleted.*retry"
        with pytest.raises(sources.ChecksumError, match=changed):
            sources.fetch("folder")
        (kept,) = folder.parent.glob("news.corrupt-*")
        assert files_under(kept) == {**FOLDER_FILES, "topic_a/001.txt": b"edited"}
        with pytest.raises(sources.DownloadError):  # offline: the retry cannot download...
            sources.fetch("folder")
        assert files_under(kept)["topic_a/002.txt"] == FOLDER_FILES["topic_a/002.txt"]  # ...and loses nothing

    def test_a_missing_article_is_named(self, folder_links):
        sources.register(folder_source())
        folder = sources.path("folder", "news")
        (folder / "topic_b" / "001.txt").unlink()
        with pytest.raises(sources.ChecksumError, match=r"topic_b/001\.txt \(missing\)"):
            sources.fetch("folder")

    def test_a_changed_file_member_is_quarantined_not_deleted(self, links):
        sources.register(source())
        cached = sources.path("fake", "a")
        cached.write_bytes(b"tampered")
        with pytest.raises(sources.ChecksumError, match=r"moved to .*a\.txt\.corrupt-"):
            sources.fetch("fake")
        (kept,) = cached.parent.glob("a.txt.corrupt-*")
        assert kept.read_bytes() == b"tampered"
        assert sources.path("fake", "a").read_bytes() == A_TXT  # the retry fetches a fresh copy

    def test_a_forged_manifest_beside_the_folder_is_not_trusted(self, folder_links):
        sources.register(folder_source())
        folder = sources.path("folder", "news")
        sources._manifest_path(folder).write_text("topic_a/001.txt\t" + "0" * 64 + "\n")
        assert sources.fetch("folder")["news"] == folder  # verified from the files themselves
        assert sources._manifest_path(folder).read_text().count("\n") == len(FOLDER_FILES)  # and rewritten

    def test_data_dir_that_is_a_file_names_the_variable(self, links, tmp_path, monkeypatch):
        sources.register(source())
        (tmp_path / "a_file").write_text("not a folder")
        for value in (tmp_path / "a_file", tmp_path / "a_file" / "below"):
            monkeypatch.setenv("PTM_DATA_DIR", str(value))
            with pytest.raises(sources.CacheDirError, match=r"PTM_DATA_DIR=.*is a file.*Set PTM_DATA_DIR to a folder"):
                sources.fetch("fake")

    def test_an_unwritable_cache_names_the_folder_and_the_fix(self, links, monkeypatch):
        sources.register(source())

        def disk_full(dest, stream):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(sources, "_write_atomic", disk_full)
        with pytest.raises(sources.CacheDirError, match=r"No space left.*set PTM_DATA_DIR to a writable folder"):
            sources.fetch("fake")

    def test_a_pip_that_never_returns_is_stopped_with_advice(self, links, monkeypatch):
        sources.register(source())
        monkeypatch.setattr(sources, "PIP_TIMEOUT_S", 0.01)
        with pytest.raises(sources.DownloadError, match=r"did not finish within.*PTM_DATA_FIND_LINKS.*PIP_TIMEOUT_S"):
            sources.fetch("fake")

    @pytest.mark.parametrize("files, message", [
        ({"a": ("fakedata/data/a.txt", "abc")}, r"sha256 'abc', not 64 lowercase hex digits"),
        ({"a": ("fakedata/data/a.txt", "A" * 64)}, r"not 64 lowercase hex digits"),
        ({"a": ("../outside.txt", "0" * 64)}, r"member '\.\./outside\.txt', not a relative path"),
        ({"a": ("/etc/passwd", "0" * 64)}, r"not a relative path"),
        ({}, r"it lists no files"),
    ])
    def test_register_refuses_a_malformed_source(self, files, message):
        with pytest.raises(ValueError, match=message + r".*Give each file as"):
            sources.register(source(name="malformed", files=files))
        assert "malformed" not in sources.REGISTRY

    def test_folder_sha256_of_a_missing_folder(self, tmp_path):
        with pytest.raises(NotADirectoryError, match="needs an existing folder"):
            sources.folder_sha256(tmp_path / "nowhere")

    def test_extract_members_from_a_missing_archive(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="give the path of a wheel or an sdist"):
            sources.extract_members(tmp_path / "none.whl", {"a.txt": tmp_path / "a.txt"})
