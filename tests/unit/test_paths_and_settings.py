from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop.paths import app_paths
from desktop.services.app import Lantern
from desktop.settings import Settings, load_settings, save_settings


def test_lantern_home_puts_every_folder_under_it(lantern_home: Path) -> None:
    paths = app_paths()
    for folder in (paths.data, paths.config, paths.cache, paths.logs, paths.models):
        assert folder.is_dir()
        assert lantern_home in folder.parents
    assert paths.database.parent == paths.data


def test_without_lantern_home_the_os_folders_are_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LANTERN_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    paths = app_paths()
    assert paths.data == tmp_path / "xdg-data" / "Lantern"
    assert paths.config == tmp_path / "xdg-config" / "Lantern"
    assert paths.models == tmp_path / "xdg-data" / "Lantern" / "models"
    assert (tmp_path / "xdg-cache" / "Lantern") in (paths.cache, *paths.cache.parents)


def test_settings_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    assert load_settings(path) == Settings()
    changed = Settings(default_model_id="m", context_length=2048, gpu_layers=0, temperature=0.2)
    save_settings(path, changed)
    assert load_settings(path) == changed


def test_a_broken_settings_file_is_set_aside_not_lost(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{ not json", encoding="utf-8")
    assert load_settings(path) == Settings()
    assert (tmp_path / "settings.json.bad").read_text(encoding="utf-8") == "{ not json"


def test_wrongly_typed_settings_fall_back_to_defaults_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(
        json.dumps({"context_length": "big", "temperature": 0.1, "threads": None, "extra": 1}),
        encoding="utf-8",
    )
    settings = load_settings(path)
    assert settings.context_length == Settings().context_length
    assert settings.temperature == 0.1
    assert settings.threads is None


def test_a_theme_or_font_size_out_of_range_falls_back_to_the_default(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"theme": "purple", "font_size": 400}), encoding="utf-8")
    assert load_settings(path) == Settings()
    path.write_text(json.dumps({"theme": "dark", "font_size": 14}), encoding="utf-8")
    assert load_settings(path) == Settings(theme="dark", font_size=14)


def test_the_api_servers_settings_round_trip_and_refuse_what_does_not_fit(
    tmp_path: Path,
) -> None:
    path = tmp_path / "settings.json"
    defaults = Settings()
    assert (defaults.server_host, defaults.server_cors_origins) == ("127.0.0.1", ())
    assert not defaults.server_log_contents and not defaults.server_start_with_app
    changed = Settings(
        server_port=9000, server_cors_origins=("http://localhost:3000",), server_log_contents=True
    )
    save_settings(path, changed)
    assert load_settings(path) == changed
    path.write_text(
        json.dumps(
            {
                "server_port": 70000,
                "server_cors_origins": ["http://a", 5],
                "server_log_contents": 1,  # not a bool
                "server_start_with_app": True,
                "server_max_tokens": 0,
            }
        ),
        encoding="utf-8",
    )
    assert load_settings(path) == Settings(server_start_with_app=True)


def test_changed_settings_keep_what_another_process_wrote(lantern_home: Path) -> None:
    lantern = Lantern()
    assert lantern.settings.theme == "system"
    save_settings(app_paths().settings_file, Settings(context_length=2048))  # e.g. the CLI
    changed = lantern.change_settings(theme="dark", font_size=16)
    assert changed == Settings(context_length=2048, theme="dark", font_size=16)
    assert lantern.settings == changed == load_settings(app_paths().settings_file)
    with pytest.raises(ValueError, match="theme cannot be 'sepia'"):
        lantern.change_settings(theme="sepia")
    assert load_settings(app_paths().settings_file) == changed
