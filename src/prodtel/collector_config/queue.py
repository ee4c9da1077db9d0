"""Persistent sending queues: the receiver answers 200 once a request is on disk.

The exporters that have a sending queue (clickhouse, sentry_events) keep it in the file_storage
extension with fsync, so an acknowledged record survives kill -9, an OOM kill or a node reboot
(with the queue directory on a volume). No batch processor runs in front of them: it answers the
client before export. Batching, where wanted, happens inside the queue (`sending_queue.batch`).
The file exporters have no sending queue; they write straight to their file before the answer.
"""

from __future__ import annotations

from typing import Any

STORAGE = "file_storage/queue"


def storage_extension(directory: str) -> dict[str, Any]:
    return {
        "directory": directory,
        "create_directory": True,
        "fsync": True,  # a 200 means on disk, not in the page cache
        # Reclaim the space of delivered requests at start; temp files stay on the volume.
        "compaction": {"on_start": True, "directory": directory},
    }


def persistent_queue(queue_size: str, batch: dict[str, Any] | None = None) -> dict[str, Any]:
    """A sending queue in STORAGE. A full queue answers 503 at once (block_on_overflow false):
    the SDK keeps the records in its outbox for the next try instead of holding a connection."""
    q: dict[str, Any] = {
        "enabled": True,
        "storage": STORAGE,
        "wait_for_result": False,  # storage-backed queues refuse true; the write is the answer
        "block_on_overflow": False,
        "sizer": "requests",
        "queue_size": queue_size,
        "num_consumers": 2,
    }
    if batch:
        q["batch"] = batch
    return q
