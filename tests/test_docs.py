"""The guides in docs/ cannot go stale: every `sh` block runs, in order, on a fresh home and data directory.

A block marked ```sh background``` (starting the server) runs in the background and the next blocks run
once the API answers. `127.0.0.1:8080` in the guides becomes the free port the test serves on.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, free_port
from torrentlite.cli import build_parser

DOCS = REPO / "docs"
GUIDES = sorted(p.name for p in DOCS.glob("*.md"))
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```\s*$", re.S | re.M)

WAIT_FOR_API = r'''
wait_for_api() {
  python3 - "$1" <<'PY'
import sys, time, urllib.request
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    try:
        urllib.request.urlopen(sys.argv[1], timeout=2)
        sys.exit(0)
    except OSError:
        time.sleep(0.2)
sys.exit("the server did not answer")
PY
}
'''


def blocks(text: str) -> list:
    """[(info string, body)] of the fenced blocks of a Markdown text."""
    return [(m.group(1).strip(), m.group(2)) for m in FENCE.finditer(text)]


def guide_script(text: str, port: int) -> str:
    parts = ["set -euo pipefail", WAIT_FOR_API]
    for info, body in blocks(text):
        words = info.split()
        if not words or words[0] != "sh":
            continue
        body = body.replace("127.0.0.1:8080", "127.0.0.1:%d" % port)
        if "background" in words[1:]:
            parts.append("( set -x\n%s) > background.log 2>&1 &" % body)
            parts.append('wait_for_api "http://127.0.0.1:%d/rundb/api/v1/" || { cat background.log; exit 1; }'
                         % port)
        else:
            parts.append("set -x\n%s\nset +x" % body)
    return "\n".join(parts) + "\n"


def guide_env(tmp_path: Path, port: int) -> dict:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "torrentlite"
    shim.write_text('#!/bin/sh\nexec "%s" -m torrentlite "$@"\n' % sys.executable)
    shim.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TORRENTLITE_") and k != "XDG_DATA_HOME"}
    env.update(HOME=str(home), PATH=str(bin_dir) + os.pathsep + env.get("PATH", ""),
               PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""), TORRENTLITE_PORT=str(port),
               TORRENTLITE_PLUGIN_MEMORY_FLOOR_MB="0")
    return env


@pytest.mark.parametrize("guide", GUIDES)
def test_guide_commands_run(guide, tmp_path):
    text = (DOCS / guide).read_text(encoding="utf-8")
    assert [info for info, _ in blocks(text) if info.startswith("sh")], f"{guide} shows no command"
    port = free_port()
    work = tmp_path / "work"
    work.mkdir()
    script = tmp_path / "guide.sh"
    script.write_text(guide_script(text, port))
    proc = subprocess.Popen(["bash", str(script)], cwd=work, env=guide_env(tmp_path, port), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=600)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # the session this test started: the background server
        except ProcessLookupError:
            pass
    assert proc.returncode == 0, f"{guide}: a command failed:\n{output[-4000:]}"


def _commands(parser) -> dict:
    """{command: {sub-command, ...}} of the torrentlite parser."""
    import argparse

    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[name] = set(_commands(sub))
    return found


def test_every_torrentlite_command_named_in_the_docs_exists():
    commands = _commands(build_parser())
    texts = {p.name: p.read_text(encoding="utf-8") for p in DOCS.glob("*.md")}
    texts["README.md"] = (REPO / "README.md").read_text(encoding="utf-8")
    named = 0
    for name, text in texts.items():
        for first, second in re.findall(r"\btorrentlite ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?", text):
            if first not in commands:
                continue  # prose: "torrentlite keeps", "torrentlite archives"
            named += 1
            if commands[first]:
                assert second in commands[first], f"{name}: `torrentlite {first} {second}` does not exist"
    assert named > 20


def test_readme_links_the_guides_and_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for guide in GUIDES:
        assert f"(docs/{guide})" in readme, f"the README does not link docs/{guide}"
    test_command = next(line.strip() for line in readme.splitlines() if "-m pytest" in line and "venv" in line)
    assert test_command in (REPO / ".ci" / "run").read_text(encoding="utf-8")
