"""Crash hooks and `exception` records, through the real pipeline (gate, scrubber), captured."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import prodtel
from prodtel import Catalog, crash
from prodtel.crash import hooks, record
from prodtel.crash.hooks import reporter
from prodtel.testing import Captured, capture

CAT = Catalog("errapp", [])
LIMITS = {a.name: a.max_length for a in CAT.events["exception"].attrs.values() if a.type is str}


def boom(depth: int, text: str = "deliberate") -> None:
    if depth == 0:
        raise RuntimeError(text)
    boom(depth - 1, text)


def raised(fn: Any, *args: Any) -> BaseException:
    try:
        fn(*args)
    except BaseException as e:
        return e
    raise AssertionError("did not raise")


@pytest.fixture
def start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """start(level, **init_kwargs) -> Captured: prodtel.init at `level`, hooks installed."""
    caps: list[Any] = []

    def _start(level: str, **kw: Any) -> Captured:
        monkeypatch.setenv("ERRAPP_TELEMETRY", level)
        cm = capture()
        cap = cm.__enter__()
        caps.append(cm)
        kw.setdefault("strict", True)
        prodtel.init(CAT, "2.0.0", config_dir=str(tmp_path), **kw)
        return cap

    yield _start
    crash.uninstall()
    prodtel.shutdown(0)
    for cm in reversed(caps):  # innermost first, or an outer capture stays installed
        cm.__exit__(None, None, None)


def excepthook_once(e: BaseException, seen: list[Any]) -> None:
    """Run our sys.excepthook as the interpreter would, with the chained hook recording."""
    prev = reporter.previous["sys"]
    reporter.previous["sys"] = lambda *a: seen.append(a)
    try:
        sys.excepthook(type(e), e, e.__traceback__)
    finally:
        reporter.previous["sys"] = prev


# -- levels -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("level", "crash_sent", "handled_sent"),
    [("crash", True, False), ("error", True, True), ("all", True, True)],
)
def test_level_decides_crashes_and_handled_errors(
    start: Any, level: str, crash_sent: bool, handled_sent: bool
) -> None:
    sent = start(level)
    seen: list[Any] = []
    excepthook_once(raised(boom, 2), seen)
    try:
        boom(1, "handled one")
    except RuntimeError:
        prodtel.capture_exception()
    records = sent.named("exception")
    assert [r.attrs["exception.handled"] for r in records] == (
        [False] * crash_sent + [True] * handled_sent
    )
    assert len(seen) == 1  # chained to the previous hook in every case


def test_level_off_installs_nothing_and_sends_nothing(start: Any) -> None:
    before = sys.excepthook
    sent = start("off")
    assert sys.excepthook is before
    try:
        boom(0)
    except RuntimeError:
        prodtel.capture_exception()
    sent.assert_nothing_sent()


def test_crash_record_has_type_message_and_the_whole_chain(start: Any) -> None:
    sent = start("crash")

    def chained() -> None:
        try:
            json.loads("{nope")
        except ValueError as e:
            raise KeyError("lookup failed") from e

    excepthook_once(raised(chained), [])
    (rec,) = sent.named("exception")
    a = rec.attrs
    assert a["exception.type"] == "KeyError"
    assert a["exception.message"] == "'lookup failed'"
    assert a["exception.handled"] is False
    st = a["exception.stacktrace"]
    assert "json.decoder.JSONDecodeError" in st
    assert "The above exception was the direct cause of the following exception:" in st
    assert st.rstrip().endswith("KeyError: 'lookup failed'")


def test_type_is_qualified_except_for_builtins(start: Any) -> None:
    sent = start("error")
    prodtel.capture_exception(raised(json.loads, "{"))
    prodtel.capture_exception(raised(boom, 0))
    types = [r.attrs["exception.type"] for r in sent.named("exception")]
    assert types == ["json.decoder.JSONDecodeError", "RuntimeError"]


def test_capture_without_an_exception_does_nothing(start: Any) -> None:
    sent = start("error")
    prodtel.capture_exception()
    sent.assert_nothing_sent()


def test_keyboard_interrupt_is_not_a_crash(start: Any) -> None:
    sent = start("crash")
    seen: list[Any] = []
    excepthook_once(KeyboardInterrupt(), seen)
    sent.assert_nothing_sent()
    assert len(seen) == 1


# -- strict mode and limits -------------------------------------------------------------------
def test_huge_messages_and_tracebacks_are_cut_before_track_so_strict_mode_never_raises(
    start: Any,
) -> None:
    sent = start("crash", strict=True)
    e = raised(boom, 900, "x" * 100_000)  # a deep stack and a 100k message
    excepthook_once(e, [])
    (rec,) = sent.named("exception")
    msg, st = rec.attrs["exception.message"], rec.attrs["exception.stacktrace"]
    assert len(msg) <= LIMITS["exception.message"] and msg.startswith("xxx")
    assert len(st) <= LIMITS["exception.stacktrace"]
    # The useful ends survive: the outermost frames and the raising frame with its line.
    assert st.startswith("Traceback (most recent call last):")
    assert "characters cut ...]" in st
    assert "raise RuntimeError(text)" in st[-LIMITS["exception.stacktrace"] // 2 :]
    assert prodtel.status()["drops"] == {}


def test_clip_keeps_head_and_tail_on_line_boundaries() -> None:
    text = "".join(f"line {i}\n" for i in range(10_000))
    out = record.clip(text, 1000, keep_tail=True)
    assert len(out) <= 1000
    assert out.startswith("line 0\n") and out.endswith("line 9999\n")
    head, _, tail = out.partition("  [...")
    assert head.endswith("\n") and tail.split("\n", 1)[1].startswith("line ")
    assert record.clip("short", 10, keep_tail=True) == "short"
    assert record.clip("abcdef", 3) == "abc"


def test_secrets_are_scrubbed_before_the_cut_so_a_cut_never_splits_one(start: Any) -> None:
    sent = start("error")
    limit = LIMITS["exception.message"]
    # An email straddling the cut: cutting first would leave "alice.smith@exam", which no
    # pattern recognises.
    text = "y" * (limit - 10) + " alice.smith@example.com"
    prodtel.capture_exception(raised(boom, 0, text))
    (rec,) = sent.named("exception")
    assert "alice.smith" not in json.dumps(rec.attrs)


def test_home_and_site_packages_paths_are_rewritten(start: Any) -> None:
    sent = start("error")
    home = str(Path.home())
    sp = "/opt/py/lib/python3.11/site-packages"
    prodtel.capture_exception(raised(boom, 0, f"open {home}/secret.txt via {sp}/pkg/mod.py"))
    (rec,) = sent.named("exception")
    assert rec.attrs["exception.message"] == "open ~/secret.txt via pkg/mod.py"
    assert sp not in rec.attrs["exception.stacktrace"]


# -- threads and asyncio ----------------------------------------------------------------------
def test_an_exception_killing_a_thread_is_a_crash_and_chains(start: Any) -> None:
    sent = start("crash")
    seen: list[Any] = []
    reporter.previous["threading"], prev = (
        (lambda args: seen.append(args)),
        reporter.previous["threading"],
    )
    try:
        th = threading.Thread(target=boom, args=(3, "thread died"))
        th.start()
        th.join()
    finally:
        reporter.previous["threading"] = prev
    (rec,) = sent.named("exception")
    assert rec.attrs["exception.message"] == "thread died"
    assert rec.attrs["exception.handled"] is False
    assert len(seen) == 1 and seen[0].thread is th


def test_init_inside_a_running_loop_watches_it(start: Any) -> None:
    handled: list[dict[str, Any]] = []

    async def main() -> Captured:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda lp, ctx: handled.append(ctx))  # the app's own
        sent = start("crash")

        async def fails() -> None:
            raise ValueError("task failed, never awaited")

        task = loop.create_task(fails())
        await asyncio.sleep(0.01)
        del task  # its exception is never retrieved: the loop's handler hears of it
        import gc

        gc.collect()
        return sent

    sent = asyncio.run(main())
    (rec,) = sent.named("exception")
    assert rec.attrs["exception.message"] == "task failed, never awaited"
    assert rec.attrs["exception.handled"] is False
    assert len(handled) == 1  # the app's handler still ran


def test_watch_loop_from_inside_a_loop_started_after_init(start: Any) -> None:
    sent = start("crash")

    async def main() -> None:
        crash.watch_loop()
        crash.watch_loop()  # idempotent
        loop = asyncio.get_running_loop()
        loop.call_exception_handler({"message": "cb failed", "exception": OSError("cb")})
        loop.call_exception_handler({"message": "no exception here"})

    asyncio.run(main())
    assert [r.attrs["exception.type"] for r in sent.named("exception")] == ["OSError"]


# -- install / uninstall ----------------------------------------------------------------------
def test_install_twice_chains_once_and_uninstall_restores(start: Any) -> None:
    before_sys, before_thr = sys.excepthook, threading.excepthook
    start("crash")
    start("crash")  # init again: the hooks move to the new telemetry, not stacked
    assert sys.excepthook is hooks._excepthook
    assert reporter.previous["sys"] is before_sys
    crash.uninstall()
    assert sys.excepthook is before_sys and threading.excepthook is before_thr


def test_sentry_dsn_without_sentry_sdk_is_a_status_problem(
    start: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "sentry_sdk", None)  # import fails as if not installed
    start("crash", sentry_dsn="http://key@127.0.0.1:9/1")
    (problem,) = prodtel.status()["problems"]
    assert "sentry-sdk is not installed" in problem and "prodtel[sentry]" in problem
    assert "key@" not in problem
    assert reporter.sentry is None


def test_after_a_crash_flush_the_exit_gets_only_what_is_left_of_the_budget(
    start: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    start("crash", exit_timeout=0.2)
    calls: list[float | None] = []
    monkeypatch.setattr(prodtel, "shutdown", lambda timeout=None: calls.append(timeout))
    hooks._at_exit()
    assert calls == []  # no crash, no Sentry: prodtel's own atexit hook does the exit alone
    excepthook_once(raised(boom, 0), [])  # the crash flush spends (part of) the budget
    assert reporter.exit_deadline is not None
    hooks._at_exit()
    (left,) = calls
    assert left is not None and 0.0 <= left <= 0.2
    monkeypatch.setattr(reporter, "exit_deadline", 0.0)  # budget long spent
    hooks._at_exit()
    assert calls[-1] == 0.0
