"""The OTel `exception` record: an exception's attributes, scrubbed and cut to the catalog's
limits (`exception.type`, `.message`, `.stacktrace`, `.handled`)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from prodtel.telemetry import Telemetry

EXCEPTION_EVENT = "exception"


def qualified_type(e: BaseException) -> str:
    """`json.decoder.JSONDecodeError`; builtins stay bare (`RuntimeError`)."""
    cls = type(e)
    mod = getattr(cls, "__module__", "") or ""
    return cls.__qualname__ if mod == "builtins" else f"{mod}.{cls.__qualname__}"


def message(e: BaseException) -> str:
    try:
        return str(e)
    except Exception:  # a broken __str__ must not break the report
        return f"<unprintable {type(e).__name__}>"


def stacktrace(e: BaseException) -> str:
    """The whole chain, as Python prints it (what OTel puts in `exception.stacktrace`)."""
    import traceback

    try:
        return "".join(traceback.format_exception(e))
    except Exception:
        return f"{qualified_type(e)}: {message(e)}\n"


def clip(text: str, limit: int, keep_tail: bool = False) -> str:
    """Cut `text` to at most `limit` characters. With `keep_tail`, keep the start (the outermost
    frames) and, mostly, the end (the raising frame and the final exception line), cut at line
    boundaries around a marker line."""
    if len(text) <= limit:
        return text
    if not keep_tail or limit < 200:
        return text[:limit]
    marker = "  [... {} characters cut ...]\n"
    room = limit - len(marker.format(len(text)))
    head_end = text.rfind("\n", 0, room // 4) + 1
    tail_start = text.find("\n", len(text) - (room - head_end)) + 1
    if tail_start <= 0 or tail_start <= head_end:
        tail_start = len(text) - (room - head_end)
    return text[:head_end] + marker.format(tail_start - head_end) + text[tail_start:]


def attributes(t: Telemetry, e: BaseException, handled: bool) -> dict[str, object] | None:
    """The `exception` record's attributes for `e`; see `clean`."""
    raw: dict[str, object] = {
        "exception.type": qualified_type(e),
        "exception.message": message(e),
        "exception.stacktrace": stacktrace(e),
        "exception.handled": handled,
    }
    return clean(t, raw)


def clean(t: Telemetry, raw: dict[str, object]) -> dict[str, object] | None:
    """`raw` attributes scrubbed first (a cut must never split a secret so that the scrubber
    misses it), then cut to the catalog's max_length. None when the catalog has no
    `exception` event."""
    ev = t.settings.catalog.events.get(EXCEPTION_EVENT)
    if ev is None:
        return None
    scrub = t.scrubber
    out: dict[str, object] = {}
    for key, value in raw.items():
        a = ev.attrs.get(key)
        if a is None or type(value) is not a.type:
            continue
        if isinstance(value, str):
            tail = key == "exception.stacktrace"
            value = clip(scrub(clip(value, 8 * a.max_length, tail)), a.max_length, tail)
        out[key] = value
    return out
