"""Broken disks for tests, honest as root (root ignores file modes): a file where a directory
should be, a garbled or damaged SQLite file, and a tiny full tmpfs mounted in a private mount
namespace (`unshare -m`), which only the process run inside it sees."""

from __future__ import annotations

from pathlib import Path

from tests.support import namespace
from tests.support.namespace import UNSHARE, can_mount_tmpfs

# Mount a tmpfs of $1 KiB at $2; "full" in $3 fills it up, "ro" makes it read-only (with an
# empty app dir in it); then run the rest of the argv.
_IN_NAMESPACE = """
mount -t tmpfs -o size="$1"k tmpfs "$2" || exit 97
if [ "$3" = full ]; then dd if=/dev/zero of="$2/.fill" bs=4096 2>/dev/null; fi
if [ "$3" = ro ]; then mkdir -p "$2/$4" && mount -o remount,ro "$2" || exit 98; fi
shift 4
exec "$@"
"""


def on_tmpfs(
    mount_at: Path, argv: list[str], *, kib: int = 64, state: str = "-", subdir: str = "app"
) -> list[str]:
    """`argv`, run with a `kib`-KiB tmpfs at `mount_at`: "full" (filled up first), "ro"
    (read-only, holding an empty `subdir`) or "-" (empty and writable)."""
    namespace.require("a tmpfs state dir", can_mount_tmpfs())
    mount_at.mkdir(parents=True, exist_ok=True)
    sh = ["sh", "-c", _IN_NAMESPACE, "sh", str(kib), str(mount_at), state, subdir]
    return [*UNSHARE, *sh, *argv]


def garble(path: Path) -> None:
    """Not a database at all: SQLite says "file is not a database" on open."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not an sqlite file\n" * 2000)


def damage_pages(path: Path) -> None:
    """A real outbox with rows, whose b-tree pages are then overwritten: it opens, and reading
    the rows fails with "database disk image is malformed"."""
    from prodtel.delivery.outbox import Outbox

    box = Outbox(str(path.parent))
    box.put([(b"x" * 3000, 1, 3000, 1, 1) for _ in range(40)])
    box.close()
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    for offset in range(page, len(data), page):  # every page but the schema page
        data[offset : offset + 64] = b"\xa5" * 64
    path.write_bytes(bytes(data))
