"""The consent gate's batch filter keeps exactly the records `Decision.allows_record` allows."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from prodtel.consent import levels
from prodtel.consent.resolve import Decision
from prodtel.pipeline import Gate

severities = st.sampled_from([1, 5, 9, 10, 13, 17, 21, 24])
times = st.integers(min_value=-(10**3), max_value=10**3)


class Fixed:
    def __init__(self, d: Decision) -> None:
        self.d = d

    def current(self) -> Decision:
        return self.d


@given(
    level=st.sampled_from([levels.OFF, levels.CRASH, levels.ERROR, levels.ALL]),
    since=st.sampled_from([0, 0, 5]),
    until=st.sampled_from([0, 0, 7]),
    prior=st.sampled_from([levels.OFF, levels.ALL]),
    records=st.lists(st.tuples(times, severities), max_size=30),
)
def test_gate_keeps_what_allows_record_allows(
    level: int, since: int, until: int, prior: int, records: list[tuple[int, int]]
) -> None:
    d = Decision()
    d.level, d.since_ns, d.until_ns, d.prior = level, since, until, prior
    batch: list[Any] = [(t, sev, "e", {}, {}) for t, sev in records]
    drops: dict[str, int] = {}
    kept = Gate(Fixed(d), drops)(list(batch))
    assert kept == [r for r in batch if d.allows_record(r[1], r[0])]
    assert drops.get("consent", 0) == len(batch) - len(kept)
