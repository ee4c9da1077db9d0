"""Windows and macOS branches, exercised on Linux where that is honest: values injected, the
Windows uploader's command line and creation flags built and checked (not run), the lock
fallbacks, and an exit that runs without fcntl or os.register_at_fork."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections import namedtuple
from pathlib import Path
from typing import Any

import pytest

import prodtel.platform as host
from prodtel import atfork, resource
from prodtel.analytics.lock import FolderLock
from prodtel.delivery import upload
from prodtel.platform import _posix, _windows, dirs
from prodtel.scrub import Scrubber

WinVer = namedtuple("WinVer", "major minor build")


class FakeMsvcrt:
    """msvcrt.locking as the Windows CRT behaves: from the file position, EACCES when another
    process holds the range."""

    LK_UNLCK, LK_LOCK, LK_NBLCK = 0, 1, 2

    def __init__(self, fail: int | None = None) -> None:
        self.fail = fail
        self.calls: list[tuple[int, int, int]] = []

    def locking(self, fd: int, mode: int, nbytes: int) -> None:
        self.calls.append((mode, os.lseek(fd, 0, os.SEEK_CUR), nbytes))
        if self.fail is not None and mode == self.LK_NBLCK:
            raise OSError(self.fail, os.strerror(self.fail))


def as_platform(monkeypatch: pytest.MonkeyPatch, plat: str) -> None:
    """Run prodtel's platform surface as on `plat`: sys.platform and the implementation the
    surface dispatches to (chosen at import time on the real machine)."""
    monkeypatch.setattr(sys, "platform", plat)
    impl = _windows if plat == "win32" else _posix
    for name in ("_impl", "lock_nb", "unlock", "machine", "os_version"):
        monkeypatch.setattr(host, name, impl if name == "_impl" else getattr(impl, name))
    if plat == "win32":
        monkeypatch.setitem(sys.modules, "msvcrt", FakeMsvcrt())


class PopenRecorder:
    """Stands in for subprocess.Popen: records what it was asked to start."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], dict[str, Any]]] = []

    def __call__(self, argv: list[str], **kwargs: Any) -> None:
        self.calls.append((argv, kwargs))


# -- the detached uploader ----------------------------------------------------------------------
def test_windows_uploader_command_line_and_creation_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_platform(monkeypatch, "win32")
    popen = PopenRecorder()
    monkeypatch.setattr(subprocess, "Popen", popen)
    assert upload.spawn(str(tmp_path), "http://127.0.0.1:4318/v1/logs")
    [(argv, kw)] = popen.calls
    assert argv == [
        sys.executable,
        "-m",
        "prodtel.delivery.upload",
        str(tmp_path),
        "http://127.0.0.1:4318/v1/logs",
    ]
    # DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW, as winbase.h spells them
    assert kw["creationflags"] == 0x00000008 | 0x00000200 | 0x08000000
    assert kw["stdin"] == kw["stdout"] == kw["stderr"] == subprocess.DEVNULL
    assert kw["close_fds"] is True
    assert "start_new_session" not in kw  # a POSIX notion; the flags do it on Windows
    assert kw["env"]["PRODTEL_UPLOADER"] == "1"


def test_posix_uploader_uses_posix_spawn_with_setsid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(os, "posix_spawn", lambda *a, **kw: calls.append((a, kw)))
    monkeypatch.setattr(subprocess, "Popen", PopenRecorder())
    assert upload.spawn(str(tmp_path), "http://x/v1/logs")
    [((path, argv, env), kw)] = calls
    assert env["PRODTEL_UPLOADER"] == "1"
    assert path == sys.executable and argv[1:3] == ["-m", "prodtel.delivery.upload"]
    assert kw["setsid"] is True
    assert [a[1] for a in kw["file_actions"]] == [0, 1, 2]  # stdio on /dev/null


def test_posix_spawn_without_setsid_falls_back_to_a_new_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """macOS before 10.15 has posix_spawn but no POSIX_SPAWN_SETSID: CPython raises
    NotImplementedError, which must not reach the exit path."""

    def no_setsid(*a: Any, **kw: Any) -> None:
        raise NotImplementedError("posix_spawn: setsid is unavailable")

    as_platform(monkeypatch, "darwin")
    monkeypatch.setattr(os, "posix_spawn", no_setsid)
    popen = PopenRecorder()
    monkeypatch.setattr(subprocess, "Popen", popen)
    assert upload.spawn(str(tmp_path), "http://x/v1/logs")
    [(_, kw)] = popen.calls
    assert kw["start_new_session"] is True and "creationflags" not in kw


@pytest.mark.parametrize("plat", ["linux", "darwin", "win32"])
def test_frozen_app_starts_no_uploader(
    plat: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a PyInstaller/py2app build sys.executable is the app: `app -m ...` would start the app
    again. The outbox waits for the next run instead."""
    as_platform(monkeypatch, plat)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    popen = PopenRecorder()
    monkeypatch.setattr(subprocess, "Popen", popen)
    monkeypatch.setattr(os, "posix_spawn", popen)
    assert upload.spawn(str(tmp_path), "http://x/v1/logs") is False
    assert popen.calls == []


def test_any_spawn_failure_is_an_oserror(monkeypatch: pytest.MonkeyPatch) -> None:
    def bad(*a: Any, **kw: Any) -> None:
        raise ValueError("embedded null byte")

    monkeypatch.setattr(os, "posix_spawn", bad)
    with pytest.raises(OSError):
        host.spawn_detached([sys.executable, "-c", "pass"], {})


# -- locks --------------------------------------------------------------------------------------
def test_lock_is_exclusive_per_open_file(tmp_path: Path) -> None:
    path = tmp_path / "upload.lock"
    with open(path, "a") as a, open(path, "a") as b:
        host.lock_nb(a)
        with pytest.raises(BlockingIOError) as held:
            host.lock_nb(b)
        assert not isinstance(held.value, host.LockUnavailable)
        host.unlock(a)
        host.lock_nb(b)


def test_uploader_is_not_started_while_another_holds_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    popen = PopenRecorder()
    monkeypatch.setattr(os, "posix_spawn", popen)
    with open(tmp_path / upload.LOCK, "a") as running:
        host.lock_nb(running)
        assert upload.spawn(str(tmp_path), "http://x/v1/logs") is False
        assert upload.run(str(tmp_path), "http://x/v1/logs", budget_s=0) == 0
    assert popen.calls == []


def test_without_fcntl_locking_is_unavailable_and_no_uploader_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "fcntl", None)  # `import fcntl` fails, as on Windows
    with open(tmp_path / "x.lock", "a") as f, pytest.raises(host.LockUnavailable):
        host.lock_nb(f)
    popen = PopenRecorder()
    monkeypatch.setattr(os, "posix_spawn", popen)
    assert upload.spawn(str(tmp_path), "http://x/v1/logs") is False
    assert popen.calls == []


def test_file_system_without_locks_is_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fcntl

    def no_locks(fd: int, op: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")  # NFS without a lock daemon

    monkeypatch.setattr(fcntl, "flock", no_locks)
    with open(tmp_path / "x.lock", "a") as f, pytest.raises(host.LockUnavailable):
        host.lock_nb(f)


def test_analytics_lock_runs_unlocked_where_locks_are_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "fcntl", None)
    with FolderLock(tmp_path, wait=0) as lock:
        assert lock.path.read_text() == f"{os.getpid()}\n"


def test_analytics_lock_names_the_holder(tmp_path: Path) -> None:
    from prodtel.analytics.lock import LockBusy

    with FolderLock(tmp_path), pytest.raises(LockBusy, match=f"pid {os.getpid()}"):
        FolderLock(tmp_path, wait=0).acquire()


@pytest.mark.parametrize(
    ("fail", "raised"),
    [(None, None), (errno.EACCES, BlockingIOError), (errno.EBADF, host.LockUnavailable)],
)
def test_windows_lock_sits_past_the_end_and_maps_errors(
    fail: int | None,
    raised: type[Exception] | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeMsvcrt(fail)
    monkeypatch.setitem(sys.modules, "msvcrt", fake)
    monkeypatch.setattr(sys, "platform", "win32")
    with open(tmp_path / "upload.lock", "a+") as f:
        f.write("1234\n")
        f.flush()
        before = os.lseek(f.fileno(), 0, os.SEEK_CUR)
        if raised is None:
            _windows.lock_nb(f)
            _windows.unlock(f)
        else:
            with pytest.raises(raised) as e:
                _windows.lock_nb(f)
            assert (raised is host.LockUnavailable) == isinstance(e.value, host.LockUnavailable)
        assert os.lseek(f.fileno(), 0, os.SEEK_CUR) == before  # position restored
    assert fake.calls[0] == (FakeMsvcrt.LK_NBLCK, _windows.LOCK_OFFSET, 1)
    if raised is None:
        assert fake.calls[1] == (FakeMsvcrt.LK_UNLCK, _windows.LOCK_OFFSET, 1)


# -- fork hooks ---------------------------------------------------------------------------------
def test_fork_hooks_only_where_register_at_fork_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    registered: list[dict[str, Any]] = []
    monkeypatch.setattr(os, "register_at_fork", lambda **kw: registered.append(kw))
    assert host.register_at_fork(after_in_child=lambda: None)
    assert list(registered[0]) == ["after_in_child"]
    monkeypatch.delattr(os, "register_at_fork")  # Windows

    class Owner:
        def hook(self) -> None:
            pass

    assert host.register_at_fork(after_in_child=lambda: None) is False
    atfork.register(after_in_child=Owner().hook)  # no AttributeError
    assert len(registered) == 1


# -- resource attributes ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("environ", "arch"),
    [
        ({"PROCESSOR_ARCHITECTURE": "AMD64"}, "amd64"),
        ({"PROCESSOR_ARCHITECTURE": "ARM64"}, "arm64"),
        ({"PROCESSOR_ARCHITECTURE": "x86"}, "x86"),
        # 32-bit Python on 64-bit Windows: the host is what PROCESSOR_ARCHITEW6432 says
        ({"PROCESSOR_ARCHITECTURE": "x86", "PROCESSOR_ARCHITEW6432": "AMD64"}, "amd64"),
        ({}, "unknown"),
    ],
)
def test_windows_resource(
    environ: dict[str, str], arch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_platform(monkeypatch, "win32")
    for k in ("PROCESSOR_ARCHITECTURE", "PROCESSOR_ARCHITEW6432"):
        monkeypatch.delenv(k, raising=False)
    for k, v in environ.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(host, "os_version", lambda: _windows.os_version(WinVer(10, 0, 22631)))
    attrs = resource.attributes("k6", "1.0", "iid", "sid")
    assert attrs["os.type"] == "windows"
    assert attrs["host.arch"] == arch
    assert attrs["os.version"] == "10.0.22631"


@pytest.mark.parametrize(("machine", "arch"), [("arm64", "arm64"), ("x86_64", "amd64")])
def test_macos_resource(machine: str, arch: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import platform

    as_platform(monkeypatch, "darwin")
    monkeypatch.setattr(platform, "machine", lambda: machine)
    monkeypatch.setattr(platform, "mac_ver", lambda: ("14.5", ("", "", ""), machine))
    monkeypatch.setattr(host, "os_version", _posix.os_version)
    attrs = resource.attributes("k6", "1.0", "iid", "sid")
    assert (attrs["os.type"], attrs["host.arch"], attrs["os.version"]) == ("darwin", arch, "14.5")


def test_windows_os_version_is_empty_off_windows() -> None:
    assert _windows.os_version() == ""  # graceful, never an AttributeError


def test_crash_os_context_on_windows_asks_no_wmi(monkeypatch: pytest.MonkeyPatch) -> None:
    import platform

    from prodtel.crash import machine

    def wmi(*a: Any) -> str:
        raise AssertionError("platform.version()/release() may query WMI on Windows")

    as_platform(monkeypatch, "win32")
    monkeypatch.setattr(platform, "version", wmi)
    monkeypatch.setattr(platform, "release", wmi)
    monkeypatch.setattr(host, "os_version", lambda: "10.0.26100")
    assert machine.os_context() == {
        "name": "Windows",
        "version": "10.0.26100",
        "kernel_version": "10.0.26100",
    }


def test_machine_facts_are_none_where_the_platform_does_not_say(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prodtel.platform import facts

    monkeypatch.setattr(sys, "platform", "sunos5")

    def no_sysconf(name: str) -> int:
        raise ValueError(f"unrecognized configuration name {name}")

    monkeypatch.setattr(os, "sysconf", no_sysconf)
    assert facts.memory() == (None, None)
    assert facts.boot_time() is None
    assert facts.process_start(123.0) == 123.0


# -- home paths and folders ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "want"),
    [
        (r"C:\Users\Dave\AppData\Local\k6\x.py", r"~\AppData\Local\k6\x.py"),
        (r"c:\users\dave\x.py", r"~\x.py"),  # tracebacks lower-case the drive and more
        ("C:/Users/Dave/x.py", "~/x.py"),
        (r"'C:\\Users\\Dave\\x.py'", r"'~\\x.py'"),  # a repr doubles the backslashes
        (r"C:\Users\DAVEMA~1\AppData\Local\Temp\t.txt", r"~\AppData\Local\Temp\t.txt"),  # 8.3
        (r"C:\Users\Erin\x", r"~\x"),  # another user's home
        (r"C:\Program Files\k6\k6.exe", r"C:\Program Files\k6\k6.exe"),
    ],
)
def test_windows_home_paths_are_scrubbed(text: str, want: str) -> None:
    s = Scrubber(values={"home": r"C:\Users\Dave", "user": "Dave"})
    assert s(text) == want


def test_windows_home_outside_users_is_scrubbed() -> None:
    s = Scrubber(values={"home": r"\\fileserver\profiles$\dave"})  # a roaming profile share
    assert s(r"open \\fileserver\profiles$\dave\notes.txt") == r"open ~\notes.txt"
    assert s(r"\\FILESERVER\Profiles$\Dave\x") == r"~\x"


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("/Users/Carol/Library/Logs/k6.log", "~/Library/Logs/k6.log"),
        ("/users/carol/x", "~/x"),  # APFS ignores case by default
        ("/Users/bob/x", "~/x"),
        ("/Applications/k6.app/Contents/MacOS/k6", "/Applications/k6.app/Contents/MacOS/k6"),
    ],
)
def test_macos_home_paths_are_scrubbed(text: str, want: str) -> None:
    assert Scrubber(values={"home": "/Users/Carol", "user": "Carol"})(text) == want


def test_windows_folders(monkeypatch: pytest.MonkeyPatch) -> None:
    from platformdirs.windows import Windows

    local = r"C:\Users\dave\AppData\Local"
    monkeypatch.setenv("WIN_PD_OVERRIDE_LOCAL_APPDATA", local)
    monkeypatch.setenv("WIN_PD_OVERRIDE_APPDATA", r"C:\Users\dave\AppData\Roaming")
    state, config = dirs.state_dir("k6", Windows), dirs.config_dir("k6", Windows)
    assert state == config  # one folder; the file names never collide
    assert state.startswith(local) and state.replace("\\", "/").endswith("/k6")
    assert "Roaming" not in state  # the outbox belongs to this machine


def test_macos_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from platformdirs.macos import MacOS

    monkeypatch.setenv("HOME", "/Users/carol")
    for k in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(k, raising=False)
    want = "/Users/carol/Library/Application Support/k6"
    assert dirs.state_dir("k6", MacOS) == dirs.config_dir("k6", MacOS) == want


def test_shared_folder_file_names_do_not_collide() -> None:
    from prodtel import sentlog
    from prodtel.consent import store
    from prodtel.delivery import outbox

    names = [store.FILENAME, outbox.FILENAME, sentlog.FILENAME, upload.LOCK]
    assert len(set(names)) == len(names)


# -- the exit path without POSIX-only modules ---------------------------------------------------
EXIT_APP = """
import json, os, sys
sys.modules["fcntl"] = None       # as on Windows: `import fcntl` fails
del os.fork, os.register_at_fork  # as on Windows: no fork, no fork hooks
import atexit
out = sys.argv[1]
atexit.register(lambda: json.dump(sorted(sys.modules), open(out + ".after", "w")))  # runs last
import prodtel
from prodtel import Attr, Catalog, Event
cat = Catalog("exitapp", [Event("tick", "A tick.", attrs=[Attr("seq", int, "Sequence.")])])
prodtel.init(cat, "1.0", endpoint=sys.argv[2], config_dir=sys.argv[3])
for i in range(20):
    prodtel.track("tick", seq=i)
prodtel.current().worker.warmed.wait(30)  # what the worker loads at start is not the exit path
json.dump(sorted(sys.modules), open(out + ".before", "w"))
"""
# Modules that exist on POSIX only; the exit path must not need any of them.
POSIX_ONLY = {"fcntl", "pwd", "grp", "resource", "termios", "tty", "pty", "syslog", "posix"}


def test_exit_path_needs_no_posix_only_module(tmp_path: Path) -> None:
    import json

    from prodtel.delivery.outbox import Outbox
    from tests.support.app import clean_env
    from tests.support.loopback import free_port

    state = tmp_path / "state"
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens: delivery at exit fails
    env = clean_env(tmp_path, EXITAPP_TELEMETRY="all")
    r = subprocess.run(
        [sys.executable, "-c", EXIT_APP, str(tmp_path / "mods"), dead, str(state)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,  # a hang guard, not a timing check (bench/ measures exit time)
    )
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # no traceback, no "Exception ignored in atexit callback"
    before = set(json.loads((tmp_path / "mods.before").read_text()))
    after = set(json.loads((tmp_path / "mods.after").read_text()))
    at_exit = after - before
    assert "prodtel.delivery.upload" in at_exit  # the audit saw the exit path
    assert not at_exit & POSIX_ONLY, sorted(at_exit)
    box = Outbox(str(state))
    try:
        assert box.pending() > 0  # left for the next run; no uploader without a lock
    finally:
        box.close()
