"""`torrentlite plugin run` beside a server: progress while it waits, and what to do when it gives up."""
from __future__ import annotations

from test_data_dir_ownership import cli, make_plugin

TALKER = '''#!/usr/bin/env python3
import sys, time
from ion.plugin import *


class Talker(IonPlugin):
    """Prints a line, then sleeps."""
    version = "1.0.0"

    def launch(self, data=None):
        print("talker says hello", flush=True)
        time.sleep({seconds})
        return True


if __name__ == "__main__":
    PluginCLI()
'''


def _install(tmp_path, data_dir, seconds, name="Talker"):
    folder = tmp_path / name
    folder.mkdir()
    (folder / f"{name}.py").write_text(TALKER.format(seconds=seconds))
    cli("plugin", "install", str(folder), data_dir=data_dir)


def test_progress_and_log_tail_are_shown_while_waiting(live_server, tmp_path):
    _install(tmp_path, live_server.data_dir, 0.5)
    done = cli("plugin", "run", "Talker", "--result", "1", "--timeout", "60", data_dir=live_server.data_dir)
    assert done.returncode == 0, done.stderr
    assert "Talker: Started" in done.stderr or "Talker: Queued" in done.stderr
    assert "Talker: Completed" in done.stderr
    assert "Talker | " in done.stderr and "talker says hello" in done.stderr


def test_timeout_says_the_job_goes_on_and_how_to_stop_it(live_server, tmp_path):
    _install(tmp_path, live_server.data_dir, 120)
    done = cli("plugin", "run", "Talker", "--result", "1", "--timeout", "1", data_dir=live_server.data_dir,
               check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "still running" in done.stderr and "torrentlite plugin stop" in done.stderr
    pr = done.stdout.split("pluginresult ")[1].split()[0]
    stopped = cli("plugin", "stop", pr, data_dir=live_server.data_dir)
    assert "cancelled" in stopped.stdout


def test_slow_plugin_made_elsewhere_still_runs_in_process_without_a_server(tmp_path):
    data = tmp_path / "data"
    import subprocess
    import sys

    from conftest import REPO

    subprocess.run([sys.executable, "-m", "torrentlite", "init", "--demo", "--no-demo-plugins", "--data-dir",
                    str(data)], check=True,
                   env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, capture_output=True)
    make_plugin(tmp_path, "Quick", 0)
    cli("plugin", "install", str(tmp_path / "Quick"), data_dir=data)
    done = cli("plugin", "run", "Quick", "--result", "1", "--timeout", "60", data_dir=data)
    assert "Quick: Completed" in done.stderr and "Completed" in done.stdout
