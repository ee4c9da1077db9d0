"""Native crashes: real child processes die in C code (ctypes.string_at(0): SIGSEGV; os.abort():
SIGABRT); the next run reports them through the real collector, and the analytics report counts
them as crashes of the crashed run's session."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from prodtel.crash import native
from tests.support.app import clean_env
from tests.support.collector import Collector
from tests.support.crasher import CATALOG
from tests.support.loopback import free_port

CRASHER = Path(__file__).parent / "support/crasher.py"


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[Collector]:
    """The real collector running the pipeline `prodtel collector-config` generates for the
    crasher's catalog: exception records go to errors.jsonl, the rest to analytics.jsonl."""
    from prodtel.collector_config import generate

    c = Collector(tmp_path / "collector", config=generate(CATALOG))
    c.env = {
        "PRODTEL_OTLP_HTTP_ENDPOINT": f"127.0.0.1:{c.http_port}",
        "PRODTEL_OTLP_GRPC_ENDPOINT": f"127.0.0.1:{c.grpc_port}",
        "PRODTEL_HEALTH_ENDPOINT": f"127.0.0.1:{c.health_port}",
        "PRODTEL_METRICS_PORT": str(free_port()),
        "PRODTEL_DATA_DIR": str(c.workdir / "data"),
    }
    with c:
        yield c


class App:
    """The crasher, installed under a (fake) home directory, run as a real process."""

    def __init__(self, tmp_path: Path, endpoint: str | None, **env: str) -> None:
        self.home = tmp_path / "home"
        self.script = self.home / "src/crasher/crasher.py"
        self.script.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CRASHER, self.script)
        self.state = self.home / ".local/state/crasher"
        base = {
            "PYTHONPATH": str(Path(__file__).parents[1]),
            "CRASHER_STATE": str(self.state),
            "CRASHER_TELEMETRY": "all",
            "PRODTEL_EXIT_TIMEOUT": "5",
            **({"CRASHER_ENDPOINT": endpoint} if endpoint else {}),
        }
        self.env = clean_env(self.home, **{**base, **env})

    def run(self, mode: str, version: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(self.script), mode, version],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )

    def crash_files(self) -> list[Path]:
        d = self.state / native.DIRNAME
        return sorted(d.iterdir()) if d.exists() else []


def records(c: Collector, name: str) -> list[dict[str, Any]]:
    return list(c.log_records(c.workdir / "data" / f"{name}.jsonl"))


def wait_for(fn: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("mode", "sig", "frame"),
    [("segv", signal.SIGSEGV, "read_null_pointer"), ("abort", signal.SIGABRT, "call_abort")],
)
def test_native_crash_is_reported_by_the_next_run(
    pipeline: Collector, tmp_path: Path, mode: str, sig: int, frame: str
) -> None:
    app = App(tmp_path, pipeline.endpoint)
    crashed = app.run(mode, "1.0.0")
    assert crashed.returncode == -sig, crashed.stderr
    [left] = app.crash_files()
    crashed_resource = json.loads(left.read_text().splitlines()[0])["resource"]
    assert wait_for(lambda: records(pipeline, "analytics"))  # the crashed run's `work` event
    assert records(pipeline, "errors") == []  # nothing could report it from inside

    later = app.run("ok", "2.0.0", CRASHER_TELEMETRY="crash")  # level crash is enough
    assert later.returncode == 0, later.stderr
    [rec] = wait_for(lambda: records(pipeline, "errors"))
    a, res = rec["attributes"], rec["resource"]
    assert a["exception.type"] == signal.Signals(sig).name
    assert a["exception.handled"] is False
    assert "native crash" in a["exception.message"]
    assert rec["record"]["severityNumber"] == 21  # FATAL
    trace = a["exception.stacktrace"]
    assert "Current thread" in trace
    assert 'File "~/src/crasher/crasher.py", line' in trace and f"in {frame}" in trace
    assert str(app.home) not in trace  # scrubbed: the home directory became ~
    # The crashed run's resource: its version and session, not the reporting run's.
    assert res["service.version"] == "1.0.0"
    assert res["session.id"] == crashed_resource["session.id"]
    assert app.crash_files() == []

    again = app.run("ok", "2.0.0")  # at most once
    assert again.returncode == 0
    wait_for(lambda: len(records(pipeline, "analytics")) >= 2)
    assert len(records(pipeline, "errors")) == 1

    if mode == "segv":
        _check_report(pipeline, tmp_path)


def _check_report(pipeline: Collector, tmp_path: Path) -> None:
    """The analytics report counts the native crash against the crashed session: two
    sessions sent events (the crashed run and the last one), one of them crashed."""
    from tests.test_analytics_ingest import Remote

    data = pipeline.workdir / "data"
    today = dt.datetime.now(dt.UTC).date()
    with Remote(tmp_path / "db") as db:
        db.ingest([data])
        got = db.build(app="crasher", start=today - dt.timedelta(days=1), end=today)
    s = got["summary"]
    assert (s["sessions"], s["crashes"]) == (2, 1)
    assert s["crash_free_sessions"] == pytest.approx(1 / 2)
    [v1] = [g for g in got["crashes"]["groups"] if g["version"] == "1.0.0"]
    assert v1["crashes"] == 1


@pytest.mark.e2e
def test_exit_without_atexit_is_not_a_crash(pipeline: Collector, tmp_path: Path) -> None:
    """os._exit() (and SIGKILL) leave the file without faulthandler output: not reported."""
    app = App(tmp_path, pipeline.endpoint)
    assert app.run("exit", "1.0.0").returncode == 0
    assert len(app.crash_files()) == 1
    assert app.run("ok", "1.0.0").returncode == 0
    wait_for(lambda: len(records(pipeline, "analytics")) >= 2)
    assert records(pipeline, "errors") == []
    assert app.crash_files() == []


@pytest.mark.e2e
def test_clean_exit_leaves_no_file_and_opt_out_sends_nothing(
    pipeline: Collector, tmp_path: Path
) -> None:
    app = App(tmp_path, pipeline.endpoint)
    assert app.run("ok", "1.0.0").returncode == 0
    assert app.crash_files() == []  # removed on a clean exit
    assert app.run("segv", "1.0.0", CRASHER_TELEMETRY="off").returncode == -signal.SIGSEGV
    assert app.crash_files() == []  # off: faulthandler was never pointed at a file
    assert app.run("segv", "1.0.0").returncode == -signal.SIGSEGV
    assert len(app.crash_files()) == 1
    assert app.run("ok", "1.0.0", CRASHER_TELEMETRY="off").returncode == 0
    wait_for(lambda: len(records(pipeline, "analytics")) >= 2)
    assert records(pipeline, "errors") == []  # the opted-out run reported nothing


# -- the crash file, in process -----------------------------------------------------------------
FAULT = """Fatal Python error: Bus error

Current thread 0x00007f390784eb80 (most recent call first):
  File "/home/alice/app/x.py", line 3 in f
  File "/home/alice/app/x.py", line 9 in <module>

Extension modules: numpy.core._multiarray_umath, secret_corp_ext (total: 2)
"""


def write_crash_file(directory: Path, body: str, uid: str = "a" * 32) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    p = directory / f"{uid}{native.SUFFIX}"
    head = {"v": 1, "uid": uid, "pid": 1, "resource": {"session.id": "s1"}}
    p.write_text(json.dumps(head) + "\n" + body)
    return p


def test_read_names_the_signal_and_drops_the_module_list(tmp_path: Path) -> None:
    r = native.read(str(write_crash_file(tmp_path, FAULT)))
    assert r is not None
    assert (r.type, r.reason, r.uid, r.resource) == (
        "SIGBUS",
        "Bus error",
        "a" * 32,
        {"session.id": "s1"},
    )
    assert "Extension modules" not in r.text and "secret_corp_ext" not in r.text
    assert r.text.endswith("line 9 in <module>\n")
    assert native.read(str(write_crash_file(tmp_path, ""))) is None  # no crash output
    bad = tmp_path / "bad.fault"
    bad.write_text("not json\n" + FAULT)
    assert native.read(str(bad)) is None


def test_a_live_runs_file_is_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A concurrent run of the same app holds its file: another run must not report it."""
    import prodtel
    from prodtel.testing import capture

    monkeypatch.setenv("CRASHER_TELEMETRY", "crash")
    d = tmp_path / native.DIRNAME
    live = write_crash_file(d, FAULT, "b" * 32)
    write_crash_file(d, FAULT.replace("Bus error", "Illegal instruction"), "c" * 32)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl,sys,time\n"
         f"f=open({str(live)!r}); fcntl.flock(f, fcntl.LOCK_EX); print(1, flush=True)\n"
         "time.sleep(60)"],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline()
        with capture() as sent:
            t = prodtel.init(CATALOG, version="1.0", state_dir=str(tmp_path), show_notice=False)
            [rec] = sent.named("exception")  # init() reported the dead run's file
            assert rec.attrs["exception.type"] == "SIGILL"
            assert live.exists()
            assert native.collect(t, str(d)) == 0  # still in use
        holder.kill()
        holder.wait()
        with capture() as sent:
            t = prodtel.init(CATALOG, version="1.0", state_dir=str(tmp_path), show_notice=False)
            [rec] = sent.named("exception")  # its process has ended: now it is a crash
            assert rec.attrs["exception.type"] == "SIGBUS"
            assert not live.exists()
    finally:
        holder.kill()
        holder.wait()
        prodtel.shutdown(0)
        from prodtel import crash

        crash.uninstall()
