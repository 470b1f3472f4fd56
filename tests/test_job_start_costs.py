"""The cheaper paths of starting and ending a job give the same answers as the full ones."""
import datetime
import json
import os
import signal
import subprocess
import threading
import time

from torrentlite.runner.docmemo import indented_json
from torrentlite.runner.launchscript import json_default, _named_pairs, flatten_env
from torrentlite.runner.procscan import ExitWatch, descendants, forks, pid_window


def _plain_env(doc):
    env = {}
    for name, text in _named_pairs(doc):
        env.pop(name, None)
        env[name] = text
    return env


def _docs():
    base = {"runinfo": {"pk": 1, "results_dir": "/r/a", "plugin": {"name": "P", "depends": []}},
            "expmeta": {"run_name": "R\u00fc\"n", "run_flows": 400, "date": datetime.datetime(2020, 1, 2, 3, 4, 5)},
            "pluginconfig": {"flag": 1, "list": [1, {"a-b": "x"}], "empty": {}},
            "plan": {"x.y": None, "z": 1.5}, "sampleinfo": {"s": 1}}
    changed = json.loads(json.dumps(base, default=json_default))
    changed["pluginconfig"]["flag"] = True        # equal to 1 in Python, different in JSON
    changed["expmeta"]["run_flows"] = 500
    return [base, base, changed, changed, {"pluginconfig": {"FLAG": 2}, "pluginConfig": {"flag": 3}}]


def test_remembered_sections_flatten_and_print_as_the_full_walk():
    for doc in _docs():
        assert list(flatten_env(doc).items()) == list(_plain_env(doc).items())
        assert indented_json(doc, json_default) == json.dumps(doc, indent=2, default=json_default)
        assert indented_json(doc, str) == json.dumps(doc, indent=2, default=str)
    assert flatten_env(_docs()[2])["PLUGINCONFIG__FLAG"] == "true"
    assert flatten_env(_docs()[0])["PLUGINCONFIG__FLAG"] == "1"


def test_remembered_items_of_nested_sections_print_as_the_full_dump():
    docs = [{"a": {"b": 1, "c": {"d": [1, {"e": "x\ny"}], "f": {}}, "g": [], "h": {"i": {"j": {"k": 1}}}}, "z": None},
            {"runinfo": {"plugin": {"name": "P", "hold": [1, 2]}, "n": 5, "u": "\u00fcml\"q"}, "e": {}},
            {"a": {1: "a number as key", "b": 2}}, {"a": {"b": {}}, "c": {"": ""}},
            {"a": {"t": datetime.datetime(2020, 1, 2, 3, 4, 5), "d": datetime.date(2020, 1, 2)}}]
    for doc in docs + docs:
        assert indented_json(doc, json_default) == json.dumps(doc, indent=2, default=json_default)
        assert indented_json(doc, str) == json.dumps(doc, indent=2, default=str)


def test_pid_window_holds_processes_started_after_the_first_and_not_before():
    before = forks()
    first = subprocess.Popen(["sleep", "5"])
    later = subprocess.Popen(["sleep", "5"])
    try:
        window = pid_window(first.pid, before)
        assert window is not None
        assert window(first.pid) and window(later.pid)
        assert not window(os.getpid())
        assert pid_window(first.pid, None) is None       # no bound known: search everything
    finally:
        for proc in (first, later):
            proc.kill()
            proc.wait()


def test_descendants_come_from_the_kernels_child_lists():
    proc = subprocess.Popen(["bash", "-c", "bash -c 'sleep 5; true' & wait"], start_new_session=True)
    try:
        if descendants(proc.pid) is None:
            return                  # kernel without child lists: the psutil walk is used instead
        deadline = time.monotonic() + 10
        found = []
        while time.monotonic() < deadline and len(found) < 2:
            found = descendants(proc.pid) or []
            time.sleep(0.02)
        assert len(found) == 2      # the inner bash and its sleep
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_exit_watch_calls_back_when_a_watched_process_ends_and_then_stops_its_thread():
    ended = threading.Event()
    watch = ExitWatch()
    watch.notify = ended.set
    proc = subprocess.Popen(["sleep", "0.2"])
    try:
        watch.add(proc.pid)
        if not hasattr(os, "pidfd_open"):
            return                  # no pidfds: ended jobs are found by polling
        assert ended.wait(10)
        assert proc.wait(5) == 0    # the watch only looked: the exit status is still ours to collect
        deadline = time.monotonic() + 10
        while watch._thread is not None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert watch._thread is None
    finally:
        watch.close()
        proc.kill()
        proc.wait()


def test_a_sample_counts_what_a_process_that_left_the_tree_used_and_the_end_kills_it(tmp_path):
    from test_executor_contract import gone, make_job, run_to_end
    from torrentlite.runner.local import LocalExecutor
    from torrentlite.runner.states import JobState

    # The child runs in its own session and outlives the script: its CPU time is in no exit status,
    # only in what the polls sampled, and the end's search finds and kills it.
    body = "\n".join([
        "setsid python3 -c \"",
        "import os, time",
        "open('child.pid', 'w').write(str(os.getpid()))",
        "t = time.process_time()",
        "while time.process_time() - t < 0.3: pass",
        "open('burnt', 'w').close()",
        "time.sleep(60)\" &",
        "while [ ! -e burnt ]; do sleep 0.05; done",
        "sleep 0.3",
    ])
    executor = LocalExecutor()
    try:
        job = make_job(tmp_path, body)
        status = run_to_end(executor, executor.submit(job))
        assert status.state is JobState.COMPLETED
        assert status.usage.cpu_seconds >= 0.3
        assert gone(int((job.workdir / "child.pid").read_text()))
    finally:
        executor.close()


def test_a_running_job_is_sampled_at_most_every_interval_however_often_it_is_polled(tmp_path, monkeypatch):
    from test_executor_contract import make_job, run_to_end
    from torrentlite.runner import local
    from torrentlite.runner.states import JobState

    samples = []
    real = local.LocalExecutor._sample
    monkeypatch.setattr(local.LocalExecutor, "_sample", lambda self, run: samples.append(1) or real(self, run))
    executor = local.LocalExecutor()
    try:
        job = make_job(tmp_path, "touch up; sleep 0.5")
        external = executor.submit(job)
        wait_for_file = time.monotonic() + 10
        while not (job.workdir / "up").exists() and time.monotonic() < wait_for_file:
            time.sleep(0.01)
        polls, first = 0, time.monotonic()
        while polls < 2 or time.monotonic() - first < local.SAMPLE_EVERY / 2:
            assert not executor.poll(external).finished
            polls += 1
        assert len(samples) == 1
        time.sleep(local.SAMPLE_EVERY)
        executor.poll(external)
        assert len(samples) == 2
        assert run_to_end(executor, external).state is JobState.COMPLETED
    finally:
        executor.close()


def test_a_jobs_temporary_folder_is_empty_private_and_new_even_when_an_earlier_one_is_reused(tmp_path):
    from test_executor_contract import make_job, run_to_end
    from torrentlite.runner.local import LocalExecutor
    from torrentlite.runner.spawn import TMPDIRS

    TMPDIRS.clear()     # the first job's folder is then the one the later jobs are given
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine")
    executor = LocalExecutor()
    try:
        # A job that puts a link in place of its folder: the end empties the folder, never the link's target.
        swapped = make_job(tmp_path, f'echo "$TMPDIR" > tmpdir.txt; rmdir "$TMPDIR" && ln -s {victim} "$TMPDIR"',
                           name="Swapped")
        run_to_end(executor, executor.submit(swapped))
        assert not os.path.lexists((swapped.workdir / "tmpdir.txt").read_text().strip())
        first = make_job(tmp_path, "\n".join([
            'echo "$TMPDIR" > tmpdir.txt',
            'mkdir "$TMPDIR/sub"; echo x > "$TMPDIR/sub/f"; echo y > "$TMPDIR/.hidden"; chmod 755 "$TMPDIR"',
        ]), name="First")
        run_to_end(executor, executor.submit(first))
        later = [make_job(tmp_path, "\n".join([
            'echo "$TMPDIR" > tmpdir.txt',
            'ls -A "$TMPDIR" | wc -l > count.txt',
            'stat -c %a "$TMPDIR" > mode.txt',
        ]), name=f"Later{i}") for i in range(3)]
        for job in later:
            run_to_end(executor, executor.submit(job))
    finally:
        executor.close()
    used = [(job.workdir / "tmpdir.txt").read_text().strip() for job in [first] + later]
    assert len(set(used)) == len(used)
    assert not any(os.path.exists(path) for path in used)
    for job in later:
        assert (job.workdir / "count.txt").read_text().strip() == "0"
        assert (job.workdir / "mode.txt").read_text().strip() == "700"
    assert (victim / "keep.txt").read_text() == "mine"


def test_the_kernels_name_for_a_path_is_the_resolved_path(tmp_path):
    from torrentlite.runner.fsio import real_path

    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "f").write_text("")
    (tmp_path / "link").symlink_to(tmp_path / "a")
    (tmp_path / "a" / "rel").symlink_to("b")
    (tmp_path / "fl").symlink_to(tmp_path / "a" / "b" / "f")
    for path in [tmp_path, tmp_path / "link" / "b", tmp_path / "link" / "rel" / "f", tmp_path / "fl",
                 tmp_path / "missing" / "x", tmp_path / "link" / "missing", tmp_path / "a" / ".." / "a" / "b",
                 "relative/x", ".", "/"]:
        assert real_path(path) == os.path.realpath(path)
