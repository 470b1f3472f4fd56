"""The command line: settings help and precedence, bad settings, user key, one-request GET."""
from __future__ import annotations

import json

import pytest

from torrentlite import cli
from torrentlite.settings import SETTINGS, SettingsError, resolve


def test_help_settings_lists_every_setting(capsys):
    assert cli.main(["serve", "--help-settings"]) == 0
    out = capsys.readouterr().out
    for s in SETTINGS:
        assert s.name in out and s.env in out and s.flag in out


def test_precedence_default_ini_env_flag(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    assert resolve({"data_dir": str(data)}, environ={}).port == 8080
    (data / "torrentlite.ini").write_text("[torrentlite]\nport = 9001\nthreads = 3\nlog_level = debug\n")
    assert resolve({"data_dir": str(data)}, environ={}).port == 9001
    env = {"TORRENTLITE_PORT": "9002", "TORRENTLITE_THREADS": "5"}
    got = resolve({"data_dir": str(data)}, environ=env)
    assert (got.port, got.threads, got.log_level) == (9002, 5, "debug")
    got = resolve({"data_dir": str(data), "port": "9003"}, environ=env)
    assert (got.port, got.threads) == (9003, 5)


def test_data_dir_from_environment(tmp_path):
    data = tmp_path / "envdata"
    data.mkdir()
    (data / "torrentlite.ini").write_text("[torrentlite]\nport = 9100\n")
    got = resolve({}, environ={"TORRENTLITE_DATA_DIR": str(data)})
    assert got.port == 9100 and got.data_dir == str(data)


@pytest.mark.parametrize("flags,env,ini,text", [
    ({"threads": "0"}, {}, "", "threads"),
    ({}, {"TORRENTLITE_DB_DRIVER": "mysql"}, "", "db_driver"),
    ({}, {"TORRENTLITE_TRUST_LOOPBACK": "maybe"}, "", "trust_loopback"),
    ({}, {}, "[torrentlite]\nnosuch = 1\n", "nosuch"),
])
def test_bad_settings_raise_clear_errors(tmp_path, flags, env, ini, text):
    data = tmp_path / "data"
    data.mkdir()
    if ini:
        (data / "torrentlite.ini").write_text(ini)
    with pytest.raises(SettingsError, match=text):
        resolve({"data_dir": str(data), **flags}, environ=env)


def test_bad_setting_exits_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TORRENTLITE_DB_DRIVER", "mysql")
    assert cli.main(["serve", "--data-dir", str(tmp_path / "d"), "--get", "/rundb/api/v1/"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("torrentlite: ") and "db_driver" in err and "mysql" in err


def test_bad_flag_value_exits_2(tmp_path, capsys):
    assert cli.main(["serve", "--data-dir", str(tmp_path / "d"), "--threads", "zero", "--get", "/"]) == 2
    assert "threads" in capsys.readouterr().err


def test_user_key_is_stable(tmp_path, capsys):
    data = str(tmp_path / "d")
    assert cli.main(["init", "--data-dir", data]) == 0
    capsys.readouterr()
    assert cli.main(["user", "key", "ionadmin", "--data-dir", data]) == 0
    first = capsys.readouterr().out.strip()
    assert len(first) == 40 and int(first, 16) >= 0
    assert cli.main(["user", "key", "ionadmin", "--data-dir", data]) == 0
    assert capsys.readouterr().out.strip() == first
    assert cli.main(["user", "key", "nobody", "--data-dir", data]) == 2
    assert "nobody" in capsys.readouterr().err


def test_serve_get(tmp_path, capsys):
    data = str(tmp_path / "d")
    assert cli.main(["serve", "--demo", "--data-dir", data, "--get", "/rundb/api/v1/results/?limit=2"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["meta"]["limit"] == 2 and body["meta"]["total_count"] == 3
    assert cli.main(["serve", "--data-dir", data, "--get", "/rundb/api/v1/results/999999/"]) == 1


def test_the_root_url_leads_to_the_api_index(shared_app):
    from conftest import Client

    response = Client(shared_app).get("/")
    assert response.status == 302 and response.headers["Location"].endswith("/rundb/api/v1/")
