#!/usr/bin/env python3
"""Generate the traceback corpus for the sentry_events exporter's parser tests.

Every case raises a real exception in this Python (3.11+) and records:
- `attributes`: exception.type / exception.message / exception.stacktrace exactly as the
  OpenTelemetry Python SDK fills them (`"".join(traceback.format_exception(e))`, type is
  `module.qualname` unless builtins, message is `str(e)`);
- `expected`: the Sentry `exception.values` the parser must produce, computed from the live
  exception through traceback.TracebackException (not from the text): oldest first, the
  raised exception last, in sentry-python's order (depth first from the raised exception over
  cause/context/group members, then reversed), frames oldest first as the traceback prints.

Case code is compiled under fixed, made-up file names (registered in linecache so the traceback
shows source lines), so the output does not depend on where this script runs. Only real stdlib
and frozen frames carry this interpreter's own paths and line numbers.

Run: python3 gen_tracebacks.py   (writes tracebacks/*.json next to this file)
"""

from __future__ import annotations

import json
import linecache
import sys
import textwrap
import traceback
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "tracebacks"
RECURSIVE_CUTOFF = 3  # traceback.StackSummary collapses a frame repeated more often than this


def load(modname: str, path: str, src: str) -> types.ModuleType:
    """Create module `modname` from `src` as if it lived at `path`."""
    src = textwrap.dedent(src).lstrip("\n")
    lines = src.splitlines(keepends=True)
    linecache.cache[path] = (len(src), None, lines, path)
    mod = types.ModuleType(modname)
    mod.__file__ = path
    sys.modules[modname] = mod
    pkg, _, leaf = modname.rpartition(".")
    if pkg:
        parent = sys.modules.setdefault(pkg, types.ModuleType(pkg))
        parent.__path__ = []  # a package, so `import pkg.mod` works
        setattr(parent, leaf, mod)
    exec(compile(src, path, "exec"), mod.__dict__)
    return mod


# --- virtual source files ----------------------------------------------------------------------

APP = "/srv/shop/app"
PIPX = "/home/alice/.local/share/pipx/venvs/shop/lib/python3.11/site-packages"
DIST = "/usr/lib/python3/dist-packages"
WIN = r"C:\Users\alice\AppData\Local\Programs\Python\Python311\Lib\site-packages"
WINAPP = r"C:\Users\alice\src\shop"
MAC = "/Users/bob/dev/shop"

load(
    "shop.errors",
    f"{APP}/errors.py",
    """
    class ShopError(Exception):
        pass

    class PaymentError(ShopError):
        pass

    class Outer:
        class Inner(Exception):
            pass
    """,
)

load(
    "requests.api",
    f"{DIST}/requests/api.py",
    """
    def request(method, url):
        return send(method, url)

    def send(method, url):
        raise ConnectionError(f"cannot reach {url}")
    """,
)

load(
    "shop.pricing",
    f"{APP}/pricing.py",
    """
    def unit_price(total, qty):
        return total / qty

    def lookup(catalog, sku):
        return catalog["items"][sku]

    def price_line(catalog, sku, qty):
        item = lookup(catalog, sku)
        return unit_price(item["total"], qty)
    """,
)

load(
    "shop.checkout",
    f"{APP}/checkout.py",
    """
    import importlib
    import json

    from shop import errors, pricing
    import requests.api

    def charge(order):
        try:
            return pricing.price_line(order["catalog"], order["sku"], order["qty"])
        except ZeroDivisionError as e:
            raise errors.PaymentError(f"cannot price order {order['id']}") from e

    def checkout(order):
        return charge(order)

    def checkout_with_context(order):
        try:
            checkout(order)
        except errors.PaymentError:
            requests.api.request("POST", "http://payments.invalid/retry")

    def checkout_suppressed(order):
        try:
            checkout(order)
        except errors.PaymentError:
            raise errors.ShopError("checkout failed") from None

    def depth(n):
        if n == 0:
            return depth(n)
        return depth(n - 1)

    def parse_config(text):
        return json.loads(text)

    def load_plugin(name):
        return importlib.import_module(name)

    def run_snippet(code):
        exec(compile(code, "<string>", "exec"), {})

    def compile_rule(code, filename):
        return compile(code, filename, "exec")

    def fail_multiline():
        raise ValueError("first line\\nsecond line\\n\\nfourth line after a blank one")

    def fail_with_notes():
        try:
            raise KeyError("sku-42")
        except KeyError as e:
            e.add_note("while pricing order 7")
            e.add_note("note with\\ntwo lines")
            raise

    def fail_empty():
        raise RuntimeError()

    def fail_nested_class():
        raise errors.Outer.Inner("inner class error")

    def fail_group():
        members = []
        for i, exc in enumerate([ValueError("bad qty"), TypeError("bad sku")]):
            try:
                raise exc
            except Exception as e:
                members.append(e)
        members.append(KeyError("never raised"))
        try:
            raise ExceptionGroup("inner", [OSError("disk full"), members.pop()])
        except ExceptionGroup as inner:
            members.append(inner)
        raise ExceptionGroup("order failed", members)

    def fail_group_in_chain():
        try:
            fail_group()
        except ExceptionGroup:
            raise RuntimeError("giving up after group")

    def fail_wide_group():
        raise ExceptionGroup("too many", [ValueError(f"item {i}") for i in range(17)])

    def fail_member_with_cause():
        try:
            try:
                {}["missing"]
            except KeyError as e:
                raise ValueError("bad member") from e
        except ValueError as member:
            raise ExceptionGroup("members", [member, TypeError("plain")])

    def fail_from_unraised_group():
        raise RuntimeError("outer") from ExceptionGroup("never raised", [ValueError("inside")])

    def fail_group_with_cause():
        try:
            raise ExceptionGroup("batch", [ValueError("a")])
        except ExceptionGroup as g:
            raise ExceptionGroup("outer batch", [LookupError("b")]) from g
    """,
)

load(
    "shop.cli",
    f"{PIPX}/shop/cli.py",
    """
    from shop import checkout

    def main(order):
        return checkout.checkout(order)
    """,
)

load(
    "winshop.lib",
    WIN + r"\winshop\lib.py",
    """
    def work(order):
        return 10 / order["qty"]
    """,
)

load(
    "winshop.main",
    WINAPP + r"\main.py",
    """
    import winshop.lib

    def main():
        return winshop.lib.work({"qty": 0})
    """,
)

load(
    "macshop.main",
    f"{MAC}/main.py",
    """
    def main(path):
        with open(path) as f:
            return f.read()
    """,
)

DRIVER = load(
    "shop.__main__",
    f"{APP}/__main__.py",
    """
    def run(case, *args):
        try:
            case(*args)
        except BaseException as e:
            return e
        raise AssertionError("case did not raise")
    """,
)

ORDER_ZERO = {"id": 7, "catalog": {"items": {"A1": {"total": 30}}}, "sku": "A1", "qty": 0}


def _checkout() -> types.ModuleType:
    return sys.modules["shop.checkout"]


CASES: dict[str, Callable[[], Any]] = {
    "simple_caret": lambda: DRIVER.run(
        sys.modules["shop.pricing"].price_line, {"items": {"A1": {"total": 30}}}, "A1", 0
    ),
    "subscript_tilde": lambda: DRIVER.run(sys.modules["shop.pricing"].lookup, {"items": {}}, "B2"),
    "chained_cause": lambda: DRIVER.run(_checkout().checkout, ORDER_ZERO),
    "chained_context": lambda: DRIVER.run(_checkout().checkout_with_context, ORDER_ZERO),
    "suppressed_context": lambda: DRIVER.run(_checkout().checkout_suppressed, ORDER_ZERO),
    "site_packages_app": lambda: DRIVER.run(sys.modules["shop.cli"].main, ORDER_ZERO),
    "recursion": lambda: DRIVER.run(_checkout().depth, 3),
    "stdlib_json": lambda: DRIVER.run(_checkout().parse_config, "{not json"),
    "frozen_import": lambda: DRIVER.run(_checkout().load_plugin, "shop_plugin_that_is_missing"),
    "string_frames": lambda: DRIVER.run(_checkout().run_snippet, "def g():\n    1/0\ng()\n"),
    "syntax_error": lambda: DRIVER.run(_checkout().compile_rule, "x = (1 +\n", "<rule>"),
    "syntax_error_file": lambda: DRIVER.run(
        _checkout().compile_rule, "def f(:\n    pass\n", "/srv/shop/rules/broken.py"
    ),
    "multiline_message": lambda: DRIVER.run(_checkout().fail_multiline),
    "notes": lambda: DRIVER.run(_checkout().fail_with_notes),
    "empty_message": lambda: DRIVER.run(_checkout().fail_empty),
    "nested_class": lambda: DRIVER.run(_checkout().fail_nested_class),
    "exception_group": lambda: DRIVER.run(_checkout().fail_group),
    "group_in_chain": lambda: DRIVER.run(_checkout().fail_group_in_chain),
    "group_wide": lambda: DRIVER.run(_checkout().fail_wide_group),
    "group_member_with_cause": lambda: DRIVER.run(_checkout().fail_member_with_cause),
    "unraised_group_cause": lambda: DRIVER.run(_checkout().fail_from_unraised_group),
    "group_with_cause": lambda: DRIVER.run(_checkout().fail_group_with_cause),
    "windows_paths": lambda: DRIVER.run(sys.modules["winshop.main"].main),
    "home_paths_macos": lambda: DRIVER.run(sys.modules["macshop.main"].main, "/Users/bob/x.cfg"),
}

# Cases cut to a length, as an attribute value length limit does (value[:limit]).
TRUNCATED = {
    "truncated_single": ("recursion", 600),
    "truncated_chain": ("chained_context", 1400),
}


# --- expected values from the live exception -----------------------------------------------------
# Walked over traceback.TracebackException, Python's own model of what format_exception prints
# (it drops an exception already printed elsewhere in the tree, which the raw objects do not).


def type_name(exc: BaseException) -> str:
    """The type as format_exception prints it (and as OTel's exception.type has it)."""
    t = type(exc)
    mod = t.__module__
    return t.__qualname__ if mod in ("__main__", "builtins") else f"{mod}.{t.__qualname__}"


def te_type_name(te: traceback.TracebackException) -> str:
    t = te.exc_type
    mod = t.__module__
    return t.__qualname__ if mod in ("__main__", "builtins") else f"{mod}.{t.__qualname__}"


def value_text(te: traceback.TracebackException) -> str:
    """What format_exception prints after "Type: ", notes included."""
    text = te.msg if issubclass(te.exc_type, SyntaxError) else te._str
    notes = getattr(te, "__notes__", None) or []
    return "\n".join([text, *notes]) if notes else text


def frames(te: traceback.TracebackException) -> tuple[list[dict[str, Any]], int]:
    """Frames oldest first, collapsed like StackSummary.format; plus the repeat count."""
    out: list[dict[str, Any]] = []
    last = None
    count = 0
    repeated = 0
    for fs in te.stack:
        key = (fs.filename, fs.lineno, fs.name)
        if key != last:
            if count > RECURSIVE_CUTOFF:
                repeated += count - RECURSIVE_CUTOFF
            last, count = key, 0
        count += 1
        if count > RECURSIVE_CUTOFF:
            continue
        out.append(
            {
                "abs_path": fs.filename,
                "lineno": fs.lineno,
                "function": fs.name,
                "context_line": (fs.line or "").strip() or None,
            }
        )
    if count > RECURSIVE_CUTOFF:
        repeated += count - RECURSIVE_CUTOFF
    if issubclass(te.exc_type, SyntaxError) and te.lineno is not None:
        # format_exception_only prints the error location as one more `File` line.
        text = (te.text or "").rstrip("\n").lstrip(" \n\f") or None
        out.append(
            {
                "abs_path": te.filename or "<string>",
                "lineno": int(te.lineno),
                "function": None,
                "context_line": text,
            }
        )
    return out, repeated


MAX_GROUP_WIDTH = 15  # TracebackException's default max_group_width


def walk(
    te: traceback.TracebackException,
    out: list[dict[str, Any]],
    source: str | None,
    parent: int | None,
) -> None:
    """sentry-python's exceptions_from_error order: self, then cause/context, then members."""
    module, _, name = te_type_name(te).rpartition(".")
    fr, repeated = frames(te)
    me = len(out)
    out.append(
        {
            "type": name,
            "module": module or None,
            "value": value_text(te),
            "source": source,
            "exception_id": me,
            "parent_id": parent,
            "is_exception_group": te.exceptions is not None,
            "frames": fr,
            "repeated": repeated,
        }
    )
    if te.__cause__ is not None:
        walk(te.__cause__, out, "__cause__", me)
    elif te.__context__ is not None and not te.__suppress_context__:
        walk(te.__context__, out, "__context__", me)
    # format_exception prints at most 15 members per group; the rest is a count.
    for i, member in enumerate((te.exceptions or [])[:MAX_GROUP_WIDTH]):
        walk(member, out, f"exceptions[{i}]", me)


def record(name: str, exc: BaseException) -> dict[str, Any]:
    values: list[dict[str, Any]] = []
    walk(traceback.TracebackException.from_exception(exc), values, None, None)
    values.reverse()
    return {
        "name": name,
        "python": sys.version.split()[0],
        "attributes": {
            "exception.type": type_name(exc),
            "exception.message": str(exc),
            "exception.stacktrace": "".join(traceback.format_exception(exc)),
        },
        "expected": values,
    }


def main() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - run by hand with any python3
        raise SystemExit("needs Python 3.11+ (caret lines, add_note, ExceptionGroup)")
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*.json"):
        old.unlink()
    made: dict[str, dict[str, Any]] = {}
    for name, case in CASES.items():
        exc = case()
        made[name] = record(name, exc)
    for name, (base, limit) in TRUNCATED.items():
        rec = json.loads(json.dumps(made[base]))
        rec["name"] = name
        full = rec["attributes"]["exception.stacktrace"]
        assert len(full) > limit, (name, len(full))
        rec["attributes"]["exception.stacktrace"] = full[:limit]
        rec["truncated_at"] = limit
        made[name] = rec
    for name, rec in made.items():
        (OUT / f"{name}.json").write_text(json.dumps(rec, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(made)} cases to {OUT}")


if __name__ == "__main__":
    main()
