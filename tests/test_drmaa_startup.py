"""Choosing executor=drmaa where Grid Engine cannot be used: one clear message at start-up, exit status 2."""
from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import REPO, free_port
from torrentlite.runner.executor import ExecutorUnavailable
from torrentlite.runner.gridengine import Session, configure_environment


def _serve(tmp_path, *extra, env=None):
    import os

    environ = {k: v for k, v in os.environ.items() if k not in ("SGE_ROOT", "SGE_CELL", "DRMAA_LIBRARY_PATH")}
    environ.update(env or {})
    environ["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-m", "torrentlite", "serve", "--data-dir", str(tmp_path / "data"),
                           "--port", str(free_port()), "--executor", "drmaa", *extra],
                          capture_output=True, text=True, env=environ, timeout=60)


def test_no_grid_engine_installation_is_named(tmp_path):
    done = _serve(tmp_path, "--sge-root", str(tmp_path / "nowhere"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"torrentlite: cannot run plugin jobs with executor drmaa: Grid Engine cell not found: "
        f"{tmp_path / 'nowhere' / 'default' / 'common' / 'act_qmaster'} does not exist (check sge_root and sge_cell)"]
    assert "Traceback" not in done.stdout + done.stderr


def test_missing_drmaa_library_is_named(tmp_path):
    cell = tmp_path / "sge" / "default" / "common"
    cell.mkdir(parents=True)
    (cell / "act_qmaster").write_text("localhost\n")
    done = _serve(tmp_path, "--sge-root", str(tmp_path / "sge"), "--drmaa-library", str(tmp_path / "libdrmaa.so"))
    assert done.returncode == 2
    assert f"DRMAA library not found: {tmp_path / 'libdrmaa.so'}" in done.stderr
    assert "Traceback" not in done.stderr


def test_settings_are_exported_for_the_library(tmp_path):
    cell = tmp_path / "sge" / "mycell" / "common"
    cell.mkdir(parents=True)
    (cell / "act_qmaster").write_text("localhost\n")
    lib = tmp_path / "libdrmaa.so.1.0"
    lib.write_bytes(b"")
    environ = {}
    configure_environment({"sge_root": str(tmp_path / "sge"), "sge_cell": "mycell", "drmaa_library": str(lib)},
                          environ)
    assert environ == {"SGE_ROOT": str(tmp_path / "sge"), "SGE_CELL": "mycell", "DRMAA_LIBRARY_PATH": str(lib)}


def test_missing_python_package_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "drmaa", None)  # makes `import drmaa` raise ImportError
    with pytest.raises(ExecutorUnavailable, match=r"the Python package 'drmaa' is not installed \(pip install"):
        Session().module()


def test_accounting_numbers_are_read_back_to_raw_values(monkeypatch):
    from torrentlite.runner import gridengine

    sample = ("==============================================================\n"
              "qname        all.q                \nexit_status  3                   \n"
              "ru_wallclock 4s\nru_maxrss    7.883KB\ncpu          0.025s\nmaxvmem      4.977MB\n")
    monkeypatch.setattr(gridengine, "_run", lambda argv, timeout=20.0: sample)
    fields = gridengine.accounting("10")
    assert fields["exit_status"] == 3 and fields["ru_wallclock"] == 4 and fields["cpu"] == 0.025
    assert round(fields["ru_maxrss"]) == 8072 and round(fields["maxvmem"] / 1024 ** 2, 3) == 4.977
    assert "qname" not in fields


def test_native_specification_from_settings_and_limits():
    from torrentlite.runner.drmaa import DrmaaExecutor
    from torrentlite.runner.executor import JobSpec, Limits

    job = JobSpec(job_id=1, name="P", script="/x", limits=Limits(wall_seconds=86400, memory_bytes=8 * 1024 ** 3))
    executor = DrmaaExecutor({"drmaa_queue": "plugin.q", "drmaa_slots": 2, "drmaa_parallel_env": "smp",
                              "drmaa_native_spec": " -P plugins "})
    assert executor.native_specification(job) == \
        "-q plugin.q -pe smp 2 -l s_rt=86400,h_rt=86405,h_vmem=8192M -P plugins"
    assert DrmaaExecutor({}).native_specification(JobSpec(job_id=2, name="P", script="/x")) == ""
