"""The sink for level `local`: records go through the same gate, scrubber and stamp as at
`all`, then into the local log (`<state dir>/local.jsonl`, `telemetry show`) and nowhere else.
Nothing is queued in the outbox, so nothing recorded at `local` is uploaded later either."""

from __future__ import annotations

from prodtel.delivery.sinks import Sink

TYPE_CHECKING = False
if TYPE_CHECKING:
    from prodtel.record import Record


class LocalSink(Sink):
    def __init__(self, state_dir: str, resource: dict[str, str], stats: dict[str, int]) -> None:
        self.state_dir = state_dir
        self.resource = resource
        self.stats = stats

    def write(self, records: list[Record]) -> None:
        from prodtel import sentlog

        sentlog.append_local(self.state_dir, records, self.resource)
        self.stats["kept_locally"] = self.stats.get("kept_locally", 0) + len(records)

    def send(self, deadline: float | None, wait: bool = True) -> bool:
        return True  # nothing ever leaves
