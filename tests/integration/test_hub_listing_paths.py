"""The paths a Hub listing's names become, served over real HTTP by the local test Hub.

A hostile Hub (or mirror, through HF_ENDPOINT): file names with Windows' backslashes and
drives, a sha256 that is a path, a listing that claims another repository's id, and a
download record an older Lantern stored from such a listing. None of them writes, moves or
deletes anything outside the models folder, and nothing the user already had is lost.

Names as real repositories have them, with the real starter model: the same name in two
quantization folders, and `.GGUF` in upper case (single files and split parts)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import STARTER_REPO
from hub_server import LocalHub

from desktop.cli.advice import error_line
from desktop.errors import DownloadFailed, ModelNotFound, UnsafeHubListing
from desktop.models.installed import ModelLibrary
from desktop.services.app import Lantern
from desktop.store.downloads import DownloadPart, DownloadRepository
from desktop.ui.error_text import error_text

WINDOWS_NAMES_REPO = "hostile/Windows-Names-GGUF"
BAD_SHA_REPO = "hostile/Bad-Sha-GGUF"
SPOOF_REPO = "hostile/Spoof-GGUF"
FOLDERS_REPO = "lantern-test/Quant-Folders-GGUF"
UPPER_CASE_REPO = "lantern-test/Upper-Case-GGUF"
STARTER_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# From `models/.downloads/<sha256[:16]>`, three folders up is the folder holding LANTERN_HOME:
# where the test's canary lives.
SHA_AS_PATH = "../../../canary"


class Canaries:
    """The user's own files next to the models folder and next to Lantern's home."""

    def __init__(self, lantern_home: Path) -> None:
        self.folders = [lantern_home / "canary", lantern_home.parent / "canary"]
        for folder in self.folders:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "notes.txt").write_text("mine", encoding="utf-8")

    def untouched(self) -> bool:
        return all(
            [p.name for p in folder.iterdir()] == ["notes.txt"]
            and (folder / "notes.txt").read_text(encoding="utf-8") == "mine"
            for folder in self.folders
        )


@pytest.fixture
def canaries(lantern_home: Path) -> Canaries:
    return Canaries(lantern_home)


@pytest.fixture
def app(test_hub: LocalHub) -> Iterator[Lantern]:
    lantern = Lantern()
    yield lantern
    lantern.close()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_windows_names_are_left_out_and_the_good_file_downloads_cancels_and_removes(
    app: Lantern, test_hub: LocalHub, canaries: Canaries, starter_model_path: Path
) -> None:
    hostile = [
        "..\\..\\..\\..\\..\\x-Q4_K_M.gguf",
        "d:x-Q4_K_M.gguf",
        "C:\\Users\\Public\\x-Q4_K_M.gguf",
        "../../x-Q4_K_M.gguf",
    ]
    test_hub.add_repo(
        WINDOWS_NAMES_REPO,
        {**dict.fromkeys(hostile, starter_model_path), "Q8_0/x-Q8_0.gguf": starter_model_path},
    )

    repository = app.models.repository(WINDOWS_NAMES_REPO)
    assert [m.name for m in repository.files] == ["Q8_0/x-Q8_0.gguf"], "one bad name hides none"
    assert sorted(repository.left_out) == sorted(hostile)
    with pytest.raises(ModelNotFound) as not_offered:
        app.downloads.add(WINDOWS_NAMES_REPO, quant="Q4_K_M")
    assert str(not_offered.value).startswith(
        f"{WINDOWS_NAMES_REPO} has no Q4_K_M file. It offers: Q8_0. Left out because their "
        "names or hashes are unsafe to save on this computer: "
    )
    assert "'d:x-Q4_K_M.gguf'" in str(not_offered.value)

    cancelled = app.downloads.add(WINDOWS_NAMES_REPO)
    app.downloads.cancel(cancelled.id)
    app.downloads.forget(cancelled.id)

    record = app.downloads.add(WINDOWS_NAMES_REPO)
    model = app.downloads.run(record.id)
    assert model is not None and model.id == f"{WINDOWS_NAMES_REPO}/Q8_0/x-Q8_0"
    assert _sha256(model.path) == _sha256(starter_model_path)
    app.models.remove(model.id)
    assert app.models.list() == []
    assert canaries.untouched()
    asked = {r.path for r in test_hub.log if "/resolve/" in r.path}
    assert asked == {f"/{WINDOWS_NAMES_REPO}/resolve/{repository.revision}/Q8_0/x-Q8_0.gguf"}


def test_a_sha256_that_is_a_path_is_refused_before_anything_moves(
    app: Lantern, test_hub: LocalHub, canaries: Canaries, starter_model_path: Path
) -> None:
    test_hub.add_repo(
        BAD_SHA_REPO,
        {"bad-sha-Q4_K_M.gguf": starter_model_path},
        listed_sha256={"bad-sha-Q4_K_M.gguf": SHA_AS_PATH},
    )
    with pytest.raises(UnsafeHubListing) as refused:
        app.downloads.add(BAD_SHA_REPO)
    assert str(refused.value) == (
        f"{BAD_SHA_REPO} holds no GGUF model file Lantern can save. Left out because their "
        "names or hashes are unsafe to save on this computer: 'bad-sha-Q4_K_M.gguf' (see the "
        "log)."
    )
    assert app.downloads.list() == []
    assert not [r for r in test_hub.log if "/resolve/" in r.path]
    assert canaries.untouched()


def test_a_download_an_older_lantern_stored_from_a_hostile_listing_is_refused_at_use(
    app: Lantern, test_hub: LocalHub, canaries: Canaries
) -> None:
    stored = DownloadRepository(app.database)
    bad_sha = stored.add(
        BAD_SHA_REPO, "main", "x.gguf", "Q4_K_M", [DownloadPart("x-Q4_K_M.gguf", 10, SHA_AS_PATH)]
    )
    bad_repo = stored.add(
        "../../canary", "main", "y.gguf", "Q4_K_M", [DownloadPart("y-Q4_K_M.gguf", 10, None)]
    )
    with pytest.raises(UnsafeHubListing, match="which is not 64 hex digits"):
        app.downloads.run(bad_sha.id)
    with pytest.raises(UnsafeHubListing, match="is not a Hub repository Lantern can use"):
        app.downloads.run(bad_repo.id)
    failed = app.downloads.get(bad_sha.id)
    assert failed.status == "failed" and failed.error is not None
    assert "which is not 64 hex digits" in failed.error, "the list shows why"

    for record in (bad_sha, bad_repo):  # the user can still clear them from the list
        app.downloads.cancel(record.id)
        app.downloads.forget(record.id)
    assert app.downloads.list() == []
    assert not [r for r in test_hub.log if "/resolve/" in r.path]
    assert canaries.untouched()


def test_a_listing_claiming_an_installed_repository_never_replaces_its_model(
    app: Lantern,
    test_hub: LocalHub,
    lantern_home: Path,
    starter_model_path: Path,
    starter_split: list[Path],
) -> None:
    installed = lantern_home / "models" / STARTER_REPO / STARTER_FILE
    installed.parent.mkdir(parents=True)
    os.link(starter_model_path, installed)  # what an earlier download installed
    before = _sha256(installed)
    # Another repository whose listing says it is the installed one, with other bytes.
    spoof = test_hub.add_repo(SPOOF_REPO, {STARTER_FILE: starter_split[0]})
    spoof.listed_id = STARTER_REPO

    repo, revision, chosen = app.downloads.choose_files(SPOOF_REPO)
    assert repo == STARTER_REPO
    already = app.downloads.installed(repo, chosen)
    assert already is not None and already.path == installed, "the GUI and CLI stop here"

    record = app.downloads.enqueue(repo, revision, chosen)  # and if something queued it anyway
    with pytest.raises(DownloadFailed) as refused:
        app.downloads.run(record.id)
    assert str(refused.value) == (
        f"{installed} is already in the models folder, and Lantern does not replace it with "
        "a download. Remove that model first, then resume the download."
    )
    assert error_line(refused.value).endswith(
        "`lantern models rm ID` (ids: `lantern models list`)."
    )
    assert error_text(refused.value).endswith("It is on the Models page, under Installed.")
    assert _sha256(installed) == before
    assert [m.path for m in app.models.list()] == [installed]
    assert not [r for r in test_hub.log if "/cdn/" in r.path], "not a byte downloaded"


def test_an_unsafe_repository_id_is_refused_whether_typed_or_listed(
    app: Lantern, test_hub: LocalHub, starter_model_path: Path
) -> None:
    with pytest.raises(UnsafeHubListing) as typed:
        app.downloads.add("..\\..\\AppData/x-GGUF")
    assert str(typed.value).startswith(
        "'..\\\\..\\\\AppData/x-GGUF' is not a Hub repository Lantern can use: it is not of the "
        "form owner/name"
    )
    assert not test_hub.log, "refused before asking the Hub"

    renamed = test_hub.add_repo("hostile/Renamed-GGUF", {"m-Q4_K_M.gguf": starter_model_path})
    renamed.listed_id = "../.."
    with pytest.raises(UnsafeHubListing, match=r"'\.\./\.\.' is not a Hub repository"):
        app.models.repository("hostile/Renamed-GGUF")
    found = [m.repo for m in app.models.search("Renamed-GGUF")]
    assert found == [], "left out of search results"


# ---- names as real repositories have them ----


def test_a_file_at_the_top_is_named_by_its_path_beside_a_folder_with_the_same_name(
    app: Lantern, test_hub: LocalHub, starter_model_path: Path
) -> None:
    test_hub.add_repo(
        FOLDERS_REPO, {"SmolLM2.gguf": starter_model_path, "Q8_0/SmolLM2.gguf": starter_model_path}
    )
    for name in ("SmolLM2.gguf", "Q8_0/SmolLM2.gguf"):
        _repo, _revision, chosen = app.downloads.choose_files(FOLDERS_REPO, file=name)
        assert [part.path for part in chosen.parts] == [name]


# read_gguf_info checks a split's parts under names it makes itself, `.gguf` in lower case.
def test_same_named_files_in_two_folders_install_apart_and_remove_apart(
    app: Lantern, test_hub: LocalHub, lantern_home: Path, starter_model_path: Path
) -> None:
    test_hub.add_repo(
        FOLDERS_REPO,
        {"Q4_K_M/SmolLM2.gguf": starter_model_path, "Q8_0/SmolLM2.gguf": starter_model_path},
    )
    repository = app.models.repository(FOLDERS_REPO)
    assert [(m.name, m.quant) for m in repository.files] == [
        ("Q4_K_M/SmolLM2.gguf", "Q4_K_M"),
        ("Q8_0/SmolLM2.gguf", "Q8_0"),
    ]
    with pytest.raises(ModelNotFound) as ambiguous:
        app.downloads.add(FOLDERS_REPO, file="SmolLM2.gguf")
    assert str(ambiguous.value) == (
        f"'SmolLM2.gguf' names several models in {FOLDERS_REPO}: Q4_K_M/SmolLM2.gguf, "
        "Q8_0/SmolLM2.gguf. Give the one you want with its folder, e.g. 'Q4_K_M/SmolLM2.gguf'."
    )

    for quant in ("Q4_K_M", "Q8_0"):
        record = app.downloads.add(FOLDERS_REPO, quant=quant)
        assert app.downloads.run(record.id) is not None
    folder = lantern_home / "models" / FOLDERS_REPO
    q4, q8 = f"{FOLDERS_REPO}/Q4_K_M/SmolLM2", f"{FOLDERS_REPO}/Q8_0/SmolLM2"
    assert [(m.id, m.path) for m in app.models.list()] == [
        (q4, folder / "Q4_K_M" / "SmolLM2.gguf"),
        (q8, folder / "Q8_0" / "SmolLM2.gguf"),
    ]
    repo, _, chosen = app.downloads.choose_files(FOLDERS_REPO, file="Q8_0/SmolLM2.gguf")
    assert app.downloads.installed(repo, chosen) == app.models.get(q8)

    app.models.remove(q4)
    (left,) = app.models.list()
    assert left.id == q8 and _sha256(left.path) == _sha256(starter_model_path)
    app.models.remove(q8)
    assert app.models.list() == []


def test_an_upper_case_split_download_is_listed_and_removed_whole(
    app: Lantern, test_hub: LocalHub, lantern_home: Path, starter_split: list[Path]
) -> None:
    upper = {part.name.replace(".gguf", ".GGUF"): part for part in starter_split}
    test_hub.add_repo(UPPER_CASE_REPO, upper)
    (offered,) = app.models.repository(UPPER_CASE_REPO).files
    assert offered.is_split and offered.parts[0].path == "SmolLM2-Q4_1-00001-of-00002.GGUF"

    record = app.downloads.add(UPPER_CASE_REPO)
    model = app.downloads.run(record.id)
    assert model is not None
    (listed,) = app.models.list()
    # `.gguf` in lower case: what llama.cpp's split loader looks for beside the first part.
    assert [p.name for p in listed.files] == [
        "SmolLM2-Q4_1-00001-of-00002.gguf",
        "SmolLM2-Q4_1-00002-of-00002.gguf",
    ]
    assert listed.id == model.id == f"{UPPER_CASE_REPO}/SmolLM2-Q4_1"
    repo, _, chosen = app.downloads.choose_files(UPPER_CASE_REPO)
    assert app.downloads.installed(repo, chosen) == listed, "not offered for download again"

    app.models.remove(listed.id)
    assert not list((lantern_home / "models" / UPPER_CASE_REPO).iterdir()), "every part removed"


def test_an_upper_case_file_already_in_the_models_folder_is_listed_and_removed(
    tmp_path: Path, starter_model_path: Path
) -> None:
    """A file the user copied in (or an older Lantern installed) named `.GGUF`."""
    library = ModelLibrary(tmp_path / "models", tmp_path / "cache")
    by_hand = tmp_path / "models" / "by-hand"
    by_hand.mkdir(parents=True)
    os.link(starter_model_path, by_hand / "Single.GGUF")
    assert [(m.id, m.files) for m in library.list()] == [
        ("by-hand/Single", [by_hand / "Single.GGUF"])
    ]
    library.remove("by-hand/Single")
    assert list(by_hand.iterdir()) == []


def test_an_upper_case_split_already_in_the_models_folder_is_removed_whole(
    tmp_path: Path, starter_split: list[Path]
) -> None:
    library = ModelLibrary(tmp_path / "models", tmp_path / "cache")
    by_hand = tmp_path / "models" / "by-hand"
    by_hand.mkdir(parents=True)
    for part in starter_split:
        os.link(part, by_hand / part.name.replace(".gguf", ".GGUF"))
    (model,) = library.list()
    assert model.id == "by-hand/SmolLM2-Q4_1" and len(model.files) == 2
    library.remove(model.id)
    assert list(by_hand.iterdir()) == [], "both parts removed"


def test_an_upper_case_split_imports_under_lower_case_names(
    tmp_path: Path, starter_split: list[Path]
) -> None:
    source = tmp_path / "source"
    source.mkdir()
    upper = [source / part.name.replace(".gguf", ".GGUF") for part in starter_split]
    for part, name in zip(starter_split, upper, strict=True):
        os.link(part, name)
    library = ModelLibrary(tmp_path / "models", tmp_path / "cache")
    model = library.import_file(upper[0])
    assert [p.name for p in model.files] == [
        "SmolLM2-Q4_1-00001-of-00002.gguf",
        "SmolLM2-Q4_1-00002-of-00002.gguf",
    ]
    assert all(p.is_file() for p in model.files)
    assert [m.id for m in library.list()] == ["SmolLM2-Q4_1"]


def test_lantern_models_info_names_the_files_it_left_out(
    test_hub: LocalHub, starter_model_path: Path
) -> None:
    from test_cli import lantern, lantern_json

    test_hub.add_repo(
        WINDOWS_NAMES_REPO,
        {"d:x-Q4_K_M.gguf": starter_model_path, "x-Q8_0.gguf": starter_model_path},
    )
    shown = lantern("models", "info", WINDOWS_NAMES_REPO, "--no-fit").stdout
    assert "x-Q8_0.gguf" in shown
    assert "unsafe to save on this computer: 'd:x-Q4_K_M.gguf'" in shown
    listing = lantern_json("models", "info", WINDOWS_NAMES_REPO, "--no-fit")
    assert [row["name"] for row in listing["files"]] == ["x-Q8_0.gguf"]
    assert listing["left_out"] == ["d:x-Q4_K_M.gguf"]
