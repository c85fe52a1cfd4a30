"""The master key lives beside the data folder, not in it (decision 0024); an old key is moved, never lost."""

import base64
import logging
import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from bidding import masterkey
from bidding.masterkey import master_key, master_key_file_ensure

ROOT = Path(__file__).resolve().parents[2]


def new_key() -> bytes:
    return secrets.token_bytes(32)


def write_key(path: Path, key: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(base64.b64encode(key).decode())


@pytest.fixture
def layout(settings, tmp_path):
    """An embedded instance whose data folder is tmp/var, with the key at its default place."""
    masterkey._load.cache_clear()
    var = tmp_path / "var"
    var.mkdir()
    settings.VAR_DIR = var
    settings.MASTER_KEY_DEFAULT_FILE = settings.MASTER_KEY_FILE = tmp_path / "var-keys" / "master.key"
    yield var
    masterkey._load.cache_clear()


def manage(*args: str, var_dir: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in {"MASTER_KEY_FILE", "MASTER_KEY", "PLATFORM_PROFILE", "SQLITE_PATH", "TSA_DIR", "DATABASE_URL"}}
    env.update(PLATFORM_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="trading.config.settings")
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_the_default_key_is_created_beside_the_data_folder_not_in_it(tmp_path):
    var = tmp_path / "var"
    out = manage("master_key", var_dir=var)
    assert out.returncode == 0, out.stderr
    key_file = tmp_path / "var-keys" / "master.key"
    assert f"master key: {key_file}" in out.stdout and "back it up" in out.stdout
    assert len(base64.b64decode(key_file.read_text())) == 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert not key_file.is_relative_to(var) and not list(var.rglob("master.key"))


@pytest.mark.parametrize("old_place", ["keys/master.key", "master.key"])
def test_a_key_left_in_the_data_folder_is_moved_out_on_first_run_and_still_opens(tmp_path, old_place):
    var = tmp_path / "var"
    key = new_key()
    write_key(var / old_place, key)
    out = manage("master_key", var_dir=var)
    assert out.returncode == 0, out.stderr
    assert f"moved out of the data folder, from {var / old_place}" in out.stdout
    moved = tmp_path / "var-keys" / "master.key"
    assert base64.b64decode(moved.read_text()) == key and stat.S_IMODE(moved.stat().st_mode) == 0o600
    assert not (var / old_place).exists()
    again = manage("master_key", var_dir=var)  # the second run finds it in place
    assert again.returncode == 0 and "moved" not in again.stdout and base64.b64decode(moved.read_text()) == key


def test_the_platform_uses_the_moved_key_not_a_new_one(layout, settings):
    key = new_key()
    write_key(layout / "keys" / "master.key", key)
    assert master_key() == key
    assert not (layout / "keys" / "master.key").exists()
    assert base64.b64decode(Path(settings.MASTER_KEY_FILE).read_text()) == key


def test_a_stale_copy_inside_the_data_folder_is_kept_and_reported_when_the_new_place_has_a_key(layout, settings,
                                                                                                caplog):
    current, stale = new_key(), new_key()
    write_key(Path(settings.MASTER_KEY_FILE), current)
    write_key(layout / "keys" / "master.key", stale)
    with caplog.at_level(logging.WARNING, logger="bidding.masterkey"):
        assert master_key() == current
    assert (layout / "keys" / "master.key").exists()  # never delete a key that may still wrap something
    assert "still inside the data folder" in caplog.text


def test_an_explicit_master_key_file_never_takes_a_key_from_the_data_folder(layout, settings, tmp_path):
    old = new_key()
    write_key(layout / "keys" / "master.key", old)
    settings.MASTER_KEY_FILE = tmp_path / "elsewhere" / "master.key"
    assert master_key() != old
    assert base64.b64decode((layout / "keys" / "master.key").read_text()) == old


def test_production_moves_an_old_default_key_but_never_makes_one(layout, settings):
    settings.PRODUCTION = True
    with pytest.raises(ImproperlyConfigured, match="does not exist"):
        master_key_file_ensure()
    key = new_key()
    write_key(layout / "keys" / "master.key", key)
    found = master_key_file_ensure()
    assert found.moved_from == layout / "keys" / "master.key" and not found.created
    assert master_key() == key


def test_the_key_folder_is_kept_out_of_git():
    out = subprocess.run(["git", "check-ignore", "var-keys/master.key"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "var-keys/master.key"
