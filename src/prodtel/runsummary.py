"""A run summary: one usage report per run, the way k6 sends its report.

with prodtel.summary("usage_report") as report:
    report.set(vus_max=5)
    for _ in range(n):
        report.add(iterations=1)
# sent once, when the block ends (or at shutdown if never closed)
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Summary:
    """Accumulates attributes of one event and sends it exactly once."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.attrs: dict[str, Any] = {}
        self.sent = False

    def set(self, **attrs: Any) -> Summary:
        self.attrs.update(attrs)
        return self

    def add(self, **counts: float) -> Summary:
        for k, v in counts.items():
            self.attrs[k] = self.attrs.get(k, 0) + v
        return self

    def max(self, **values: float) -> Summary:
        for k, v in values.items():
            cur = self.attrs.get(k)
            self.attrs[k] = v if cur is None else max(cur, v)
        return self

    def send(self) -> None:
        if self.sent:
            return
        self.sent = True
        import prodtel

        prodtel.track(self.name, **self.attrs)

    def __enter__(self) -> Summary:
        return self

    def __exit__(self, *exc: object) -> None:
        self.send()
