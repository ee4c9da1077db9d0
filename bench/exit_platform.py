"""Exit time of an app whose endpoint does not answer, as on Linux and as on Windows (no fcntl,
no fork): median wall time of the whole process over N runs. Usage: python bench/exit_platform.py"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

APP = """
import os, sys
if sys.argv[3] == "windows-like":
    sys.modules["fcntl"] = None
    del os.fork, os.register_at_fork
import prodtel
from prodtel import Attr, Catalog, Event
cat = Catalog("exitbench", [Event("tick", "A tick.", attrs=[Attr("seq", int, "Sequence.")])])
prodtel.init(cat, "1.0", endpoint=sys.argv[1], config_dir=sys.argv[2])
for i in range(20):
    prodtel.track("tick", seq=i)
"""


def main(n: int = 15) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRODTEL_", "OTEL_"))}
    env["EXITBENCH_TELEMETRY"] = "all"
    # Both take the uploader step of the exit path without leaving processes behind: POSIX
    # finds the lock held (here, by this script), the Windows-like runs cannot lock.
    from prodtel import platform

    with tempfile.TemporaryDirectory() as d, open(os.path.join(d, "upload.lock"), "a") as held:
        platform.lock_nb(held)
        for variant in ("posix", "windows-like"):
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                argv = [sys.executable, "-c", APP, dead, d, variant]
                subprocess.run(argv, env=env, check=True)
                times.append(time.perf_counter() - t0)
            med = statistics.median(times) * 1000
            print(f"{variant:13} exit with a dead endpoint: median {med:.0f} ms over {n} runs")


if __name__ == "__main__":
    main()
