"""What a short run with telemetry on loads: a plain-http delivery needs neither http.client nor
ssl, the idna codec or urllib.parse (each costs milliseconds of every start; bench/ measures
them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.app import clean_env
from tests.support.loopback import Receiver

APP = """
import json, sys
import prodtel
from prodtel import Attr, Catalog, Event
cat = Catalog("startapp", [Event("tick", "A tick.", attrs=[Attr("seq", int, "Sequence.")])])
prodtel.init(cat, "1.0", endpoint=sys.argv[1])
prodtel.track("tick", seq=1)
assert prodtel.flush(30), prodtel.status()
print(json.dumps(sorted(sys.modules)))
"""
NOT_NEEDED = {"http.client", "ssl", "encodings.idna", "urllib.parse", "ipaddress", "platformdirs"}
NOT_NEEDED |= {"dataclasses", "inspect"}


def test_a_plain_http_run_by_host_name_loads_none_of_the_costly_modules(tmp_path: Path) -> None:
    rx = Receiver()
    try:
        url = rx.url.replace("127.0.0.1", "localhost")  # a name: the resolver path runs
        env = clean_env(tmp_path, STARTAPP_TELEMETRY="all")
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: the memo may be written
        for _ in range(2):  # the second run: the first one asks platformdirs (platform.dirmemo)
            p = subprocess.run(
                [sys.executable, "-c", APP, url],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,  # a hang guard, not a timing check
            )
            assert p.returncode == 0, p.stderr
        loaded = set(json.loads(p.stdout))
    finally:
        rx.close()
    assert [r["event_name"] for r in rx.records] == ["tick", "tick"]
    assert "prodtel.delivery.plainhttp" in loaded  # the audit saw the delivery path
    assert not loaded & NOT_NEEDED, sorted(loaded & NOT_NEEDED)
