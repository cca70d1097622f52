"""What a Hub listing names (file paths, repository ids, sha256) is checked before it becomes a
path, with Windows' rules as well as this OS's; and the one helper every write, move and
delete goes through refuses a path outside its folder."""

from __future__ import annotations

import ntpath
import os
import posixpath
from pathlib import Path, PurePosixPath, PureWindowsPath
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.errors import PathOutsideFolder, UnsafeHubListing
from desktop.models.repo_files import (
    hub_file_path,
    hub_repo_id,
    hub_sha256,
    local_file_name,
    model_parts,
    quant_from_name,
    repo_file,
)
from desktop.paths import path_inside

# Each would leave the models folder (or name a device) on Windows, Linux or macOS.
HOSTILE_NAMES = [
    ("..\\..\\..\\..\\..\\x-Q4_K_M.gguf", "the character '\\\\'"),
    ("d:x-Q4_K_M.gguf", "the character ':'"),
    ("C:\\Users\\x-Q4_K_M.gguf", "the character ':'"),
    ("../../x-Q4_K_M.gguf", "the folder name '..'"),
    ("Q4_K_M/../../x.gguf", "the folder name '..'"),
    ("/etc/x-Q4_K_M.gguf", "starts with '/'"),
    ("x\x00-Q4_K_M.gguf", "the character '\\x00'"),
    ("x\x1b[2J-Q4_K_M.gguf", "the character '\\x1b'"),
    (".", "the folder name '.'"),
    ("./x-Q4_K_M.gguf", "the folder name '.'"),
    ("Q4_K_M//x.gguf", "an empty folder name"),
    ("Q4_K_M/", "an empty folder name"),
    ("", "empty"),
    ("NUL.gguf", "the name of a device on Windows"),
    ("com1/x.gguf", "the name of a device on Windows"),
    ("Q4_K_M. /x.gguf", "ends with a dot or a space"),
    ("x" * 240 + ".gguf", "longer than 200 bytes"),
]


@pytest.mark.parametrize(("name", "reason"), HOSTILE_NAMES)
def test_a_hostile_file_name_is_refused_saying_why(name: str, reason: str) -> None:
    with pytest.raises(UnsafeHubListing) as refused:
        hub_file_path(name)
    message = str(refused.value)
    assert message.startswith(f"The Hub listing names a file {name!r} that Lantern will not save")
    assert reason in message
    assert "Choose another file" in message


@pytest.mark.parametrize(
    "name",
    [
        "SmolLM2-135M-Instruct.Q4_1.gguf",
        "Q4_K_M/Qwen2.5-7B-Instruct-Q4_K_M.gguf",
        "Q8_0/Llama-3.3-70B-Q8_0-00001-of-00002.gguf",
        "模型 Q4_K_M.GGUF",
        "..gguf-notes/x.gguf",  # dots inside a name are a name, not a parent folder
    ],
)
def test_ordinary_names_pass_unchanged(name: str) -> None:
    assert hub_file_path(name) == name


def test_the_hostile_names_would_leave_the_folder_as_windows_reads_them() -> None:
    """The reason for the rules, shown with Windows' own path semantics on any OS."""
    models = PureWindowsPath("C:/Users/me/AppData/Local/Lantern/models")
    for name in ["..\\..\\..\\..\\..\\x-Q4_K_M.gguf", "d:x-Q4_K_M.gguf", "C:\\x-Q4_K_M.gguf"]:
        assert PurePosixPath(name).name == name, "a POSIX check sees one harmless name"
        joined = ntpath.normpath(str(models / "owner/repo" / name))
        assert not joined.startswith(str(models) + "\\")


def _stays_inside(folder: str, name: str, flavour: ModuleType) -> bool:
    """`name` under `folder` as that OS's path functions (ntpath, posixpath) read it."""
    joined: str = flavour.normpath(flavour.join(folder, name))
    return joined.startswith(folder + flavour.sep)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(["..", ".", "", "C:", "d:", "\\", "/", "NUL", "a", "x.gguf", " "]),
            st.text(max_size=12),
        ),
        max_size=6,
    ).map("".join)
)
def test_a_name_that_passes_stays_in_its_folder_on_windows_and_posix(name: str) -> None:
    try:
        checked = hub_file_path(name)
    except UnsafeHubListing:
        return
    assert _stays_inside("C:\\models\\owner\\repo", checked, ntpath)
    assert _stays_inside("/models/owner/repo", checked, posixpath)
    windows_parts = PureWindowsPath(checked).parts
    assert not PureWindowsPath(checked).anchor and ".." not in windows_parts
    assert not PurePosixPath(checked).anchor and ".." not in PurePosixPath(checked).parts


@pytest.mark.parametrize(
    "repo",
    ["../x", "owner/..", "a/b/c", "just-a-name", "owner/name\\..\\..", "d:/x", "con/x", "a /b", ""],
)
def test_a_repository_id_that_is_not_owner_slash_name_is_refused(repo: str) -> None:
    with pytest.raises(UnsafeHubListing, match="is not a Hub repository Lantern can use"):
        hub_repo_id(repo)


def test_a_real_repository_id_passes() -> None:
    assert hub_repo_id("bartowski/Qwen2.5-7B-Instruct-GGUF") == "bartowski/Qwen2.5-7B-Instruct-GGUF"


@pytest.mark.parametrize("sha", ["../../../../../.", "a" * 63, "g" * 64, "a" * 65, "", 7])
def test_a_sha256_that_is_not_64_hex_digits_is_refused(sha: object) -> None:
    with pytest.raises(UnsafeHubListing, match="which is not 64 hex digits"):
        hub_sha256(sha)


def test_a_sha256_is_kept_in_lower_case_and_may_be_absent() -> None:
    assert hub_sha256("AB" * 32) == "ab" * 32
    assert hub_sha256(None) is None


def test_a_listed_file_is_checked_whole() -> None:
    assert repo_file("m.gguf", 5, "ab" * 32).sha256 == "ab" * 32
    with pytest.raises(UnsafeHubListing, match="not a byte count"):
        repo_file("m.gguf", -1, None)
    with pytest.raises(UnsafeHubListing, match="not 64 hex digits"):
        repo_file("m.gguf", 5, "../../../canary")


def test_the_quantization_of_a_file_in_a_quant_folder_is_the_folders() -> None:
    assert quant_from_name("Q4_K_M/model.gguf") == "Q4_K_M"
    assert quant_from_name("Q8_0/model-Q8_0-00001-of-00002.GGUF") == "Q8_0"


def test_an_upper_case_suffix_is_saved_in_lower_case() -> None:
    assert local_file_name("Q8_0/M-00001-of-00002.GGUF") == "Q8_0/M-00001-of-00002.gguf"
    assert local_file_name("m.gguf") == "m.gguf"


def test_the_parts_of_an_upper_case_split_keep_their_case() -> None:
    first = PurePosixPath("/models/by-hand/M-00001-of-00002.GGUF")
    assert model_parts(first) == [first, first.with_name("M-00002-of-00002.GGUF")]
    assert model_parts(PurePosixPath("m.GGUF")) == [PurePosixPath("m.GGUF")]


# ---- the one helper for writes, moves and deletes ----


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    inside = tmp_path / "models"
    inside.mkdir()
    (tmp_path / "canary").mkdir()
    return inside


def test_a_path_inside_its_folder_is_given_back(folder: Path) -> None:
    assert path_inside(folder, "owner/repo", "m.gguf") == folder / "owner/repo/m.gguf"
    assert path_inside(folder, folder / "a" / "b") == folder / "a" / "b"


@pytest.mark.parametrize(
    "relative",
    [
        ("..", "canary"),
        ("../canary/x.part",),
        ("owner", "..", "..", "canary"),
        ("/etc/passwd",),
        (".",),
        ("a", ".."),
    ],
)
def test_a_path_that_resolves_outside_its_folder_is_refused(
    folder: Path, relative: tuple[str, ...]
) -> None:
    with pytest.raises(PathOutsideFolder) as refused:
        path_inside(folder, *relative)
    assert f"it is not inside {folder}. Nothing was written, moved or deleted" in str(refused.value)


def test_a_link_out_of_the_folder_is_refused(folder: Path) -> None:
    (folder / "elsewhere").symlink_to(folder.parent / "canary", target_is_directory=True)
    with pytest.raises(PathOutsideFolder):
        path_inside(folder, "elsewhere", "x.part")


def test_a_folder_reached_through_a_link_is_still_itself(folder: Path, tmp_path: Path) -> None:
    linked = tmp_path / "linked-models"
    os.symlink(folder, linked, target_is_directory=True)
    assert path_inside(linked, "m.gguf") == linked / "m.gguf"
