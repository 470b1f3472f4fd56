"""Every mistake a person makes at the command line gets a clear message and a non-zero exit, never a traceback."""
from __future__ import annotations

import socket

import pytest

from servers import cli
from torrentlite import cli as cli_module


def _refused(done, *words):
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout, done.stderr
    for word in words:
        assert word in done.stderr, (word, done.stderr)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    data = tmp_path_factory.mktemp("cli") / "data"
    done = cli("init", "--data-dir", data)
    assert done.returncode == 0, done.stderr
    return data


def run(capsys, *args):
    code = cli_module.main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("args", [["user", "list"], ["user", "key", "ionadmin"], ["plugin", "list"],
                                  ["plugin", "run", "X", "--result", "1"], ["run-pipeline", "1"],
                                  ["plugin", "stop", "1"], ["check"], ["status"], ["backup", "{tmp}/bk"],
                                  ["plugin", "test", "{tmp}", "--result", "1"]])
def test_commands_other_than_serve_and_init_refuse_a_missing_data_dir(tmp_path, capsys, args):
    missing = tmp_path / "typo"
    code, out, err = run(capsys, *[a.replace("{tmp}", str(tmp_path)) for a in args], "--data-dir", missing)
    assert code == 2 and "is not a torrentlite data directory" in err and "torrentlite init" in err
    assert not missing.exists()


def test_serve_says_when_it_creates_a_data_directory(tmp_path, capsys):
    code, out, err = run(capsys, "serve", "--data-dir", tmp_path / "new", "--get", "/rundb/api/v1/")
    assert code == 0 and "created a new data directory" in err
    code, out, err = run(capsys, "serve", "--data-dir", tmp_path / "new", "--get", "/rundb/api/v1/")
    assert code == 0 and "created" not in err
    from servers import Served

    with Served(tmp_path / "other") as server:
        server.stop()
        assert f"created a new data directory at {tmp_path / 'other'}" in server.output()


@pytest.mark.parametrize("config", ["{not json", "[1, 2]", "'x'"])
def test_plugin_run_with_bad_config_json(data_dir, capsys, config):
    code, _, err = run(capsys, "plugin", "run", "Whatever", "--result", "1", "--config", config,
                       "--data-dir", data_dir)
    assert code == 2 and "--config" in err


@pytest.mark.parametrize("content", [b"this is a text file, not a database\n" * 10,
                                     b"SQLite format 3\x00" + b"\xff" * 8000, b""])
def test_corrupt_or_foreign_database_file(tmp_path, content):
    data = tmp_path / "data"
    assert cli("init", "--data-dir", data).returncode == 0
    (data / "torrentlite.sqlite3").write_bytes(content)
    for args in (["user", "list"], ["plugin", "list"]) + ((["serve", "--get", "/rundb/api/v1/"],) if content else ()):
        _refused(cli(*args, "--data-dir", data), "torrentlite:")
    done = cli("check", "--data-dir", data)
    assert done.returncode == 1 and "Traceback" not in done.stderr and "PROBLEM" in done.stdout


def test_user_create_without_a_terminal(data_dir):
    _refused(cli("user", "create", "alice", "--data-dir", data_dir, input=""), "no password given", "--password")
    done = cli("user", "create", "alice", "--data-dir", data_dir, input="s3cret-pw\n")
    assert done.returncode == 0, done.stderr
    done = cli("user", "passwd", "alice", "--data-dir", data_dir, input="n3w-pw\n")
    assert done.returncode == 0 and "changed" in done.stdout, done.stderr
    _refused(cli("user", "passwd", "alice", "--data-dir", data_dir, input=""), "no password given")
    from torrentlite.settings import resolve
    from torrentlite.store.db import Store
    from torrentlite.store.users import Users

    store = Store(resolve({"data_dir": str(data_dir)}, environ={}).db_path)
    try:
        assert Users(store).password_ok("alice", "n3w-pw") and not Users(store).password_ok("alice", "s3cret-pw")
    finally:
        store.close()


@pytest.mark.parametrize("port", ["99999", "0", "-1", "http"])
def test_port_out_of_range_is_refused(tmp_path, capsys, port):
    code, out, err = run(capsys, "serve", "--data-dir", tmp_path / "d", "--port", port)
    assert code == 2 and "port" in err and "serving" not in out
    assert not (tmp_path / "d").exists()


def test_port_in_use_is_reported_before_serving_is_announced(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = cli("serve", "--data-dir", tmp_path / "d", "--port", port, timeout=60)
    _refused(done, f"cannot serve on 127.0.0.1:{port}")
    assert "serving" not in done.stdout and "API key" not in done.stdout
    assert not (tmp_path / "d").exists()


def test_each_subcommand_lists_only_its_own_settings(capsys):
    def help_of(*args):
        with pytest.raises(SystemExit):
            cli_module.main([*args, "--help"])
        return capsys.readouterr().out

    serve = help_of("serve")
    assert "--plugin-slots" in serve and "--threads" in serve and "--max-upload-mb" in serve
    for args in (["user", "key"], ["plugin", "list"], ["init"], ["backup"], ["check"], ["status"]):
        text = help_of(*args)
        assert "--data-dir" in text and "--plugin-slots" not in text and "--threads" not in text, args
    run_help = help_of("plugin", "run")
    assert "--plugin-slots" in run_help and "--threads" not in run_help and "--no-trust-loopback" not in run_help
    assert "Require credentials" in " ".join(serve.split())


def test_restore_of_something_that_is_not_a_backup_changes_nothing(data_dir, tmp_path):
    junk = tmp_path / "junk.sqlite3"
    junk.write_text("no database here")
    before = (data_dir / "torrentlite.sqlite3").read_bytes()
    _refused(cli("restore", junk, "--data-dir", data_dir), "nothing restored")
    _refused(cli("restore", tmp_path / "absent", "--data-dir", data_dir), "nothing restored")
    assert (data_dir / "torrentlite.sqlite3").read_bytes() == before
    assert not [p for p in data_dir.iterdir() if p.name.startswith("pre-restore")]


@pytest.mark.parametrize("args", [["plugin", "run", "X", "--result", "99999999999999999999"],
                                  ["run-pipeline", "99999999999999999999"], ["plugin", "stop", "0"],
                                  ["plugin", "run", "X", "--result", "one"]])
def test_row_ids_beyond_any_row_are_refused(data_dir, args):
    _refused(cli(*args, "--data-dir", data_dir))
