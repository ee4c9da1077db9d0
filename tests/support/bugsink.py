"""Run a real Bugsink (Sentry-compatible error tracker) on 127.0.0.1 for tests.

`make bugsink` installs it into its own venv (build/bugsink-venv). The `bugsink` fixture is
session-scoped: one server, one project; tests tell their events apart by issue title or tags.
Register it with `pytest_plugins = ["tests.support.bugsink"]` in tests/conftest.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.loopback import free_port, stop_process, wait_http
from tests.support.tier import require_e2e

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("PRODTEL_BUGSINK_VENV", ROOT / "build/bugsink-venv"))

# Appended to the generated `local` conf: everything under the work dir, no phone-home,
# strict schema validation so an event that is not valid Sentry JSON fails the test.
CONF_TAIL = """
DATABASES["default"]["NAME"] = {db!r}
DATABASES["default"]["TEST"]["NAME"] = {test_db!r}
DATABASES["snappea"]["NAME"] = {snappea_db!r}
BUGSINK["PHONEHOME"] = False
BUGSINK["INGEST_STORE_BASE_DIR"] = {ingest!r}
BUGSINK["VALIDATE_ON_DIGEST"] = "strict"
"""


@dataclass
class Bugsink:
    """A Bugsink server with one team and one project. `dsn` is the project's DSN."""

    workdir: Path
    port: int = field(default_factory=free_port)
    token: str = ""
    project_id: int = 0
    dsn: str = ""
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.workdir / "bugsink.log"

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": str(self.workdir),
            "PYTHONUNBUFFERED": "1",  # the access log is read by tests
            "DJANGO_SETTINGS_MODULE": "bugsink_conf",
            "DJANGO_SUPERUSER_USERNAME": "admin",
            "DJANGO_SUPERUSER_EMAIL": "admin@example.invalid",
            "DJANGO_SUPERUSER_PASSWORD": "admin-test-password",
        }

    def _manage(self, *args: str) -> str:
        exe = VENV / "bin/bugsink-manage"
        if not exe.exists():
            raise FileNotFoundError(f"{exe} missing: run `make bugsink`")
        done = subprocess.run(
            [str(exe), *args],
            cwd=self.workdir,
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise RuntimeError(f"bugsink-manage {args} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def setup(self) -> Bugsink:
        """Create conf and database, start the server, create a team and a project."""
        require_e2e("Bugsink")
        self.workdir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                str(VENV / "bin/bugsink-create-conf"),
                "--template=local",
                f"--port={self.port}",
                "--host=127.0.0.1",
            ],
            cwd=self.workdir,
            check=True,
            capture_output=True,
        )
        conf = self.workdir / "bugsink_conf.py"
        conf.write_text(
            conf.read_text()
            + CONF_TAIL.format(
                db=str(self.workdir / "db.sqlite3"),
                test_db=str(self.workdir / "test.sqlite3"),
                snappea_db=str(self.workdir / "snappea.sqlite3"),
                ingest=str(self.workdir / "ingestion"),
            )
        )
        self._database()
        self.token = self._manage("create_auth_token").strip().splitlines()[-1]
        self.start()
        team = self.api("POST", "/teams/", {"name": "prodtel", "visibility": "joinable"})
        project = self.api("POST", "/projects/", {"team": team["id"], "name": "prodtel-e2e"})
        self.project_id = int(project["id"])
        self.dsn = self.api("GET", f"/projects/{self.project_id}/")["dsn"]
        return self

    def _database(self) -> None:
        """Migrated database with the admin user: copied from a per-version template in the
        venv (migrating takes seconds), created there on first use."""
        stamps = sorted(VENV.glob(".installed-*"))
        version = stamps[-1].name.removeprefix(".installed-") if stamps else ""
        template = VENV / f"template-db-{version}"
        if stamps and (template / "db.sqlite3").exists():
            for f in template.iterdir():
                shutil.copy2(f, self.workdir / f.name)
            return
        self._manage("migrate", "--noinput")
        self._manage("createsuperuser", "--noinput")
        if stamps:
            staging = Path(tempfile.mkdtemp(dir=VENV))
            for f in self.workdir.glob("*.sqlite3*"):
                shutil.copy2(f, staging / f.name)
            try:
                staging.rename(template)  # atomic; loses the race harmlessly
            except OSError:
                shutil.rmtree(staging, ignore_errors=True)

    def start(self) -> None:
        """Start gunicorn on the same port and database (also after `stop()`)."""
        require_e2e("Bugsink")
        log = self.log_file.open("ab")
        self.proc = subprocess.Popen(
            [
                str(VENV / "bin/gunicorn"),
                f"--bind=127.0.0.1:{self.port}",
                "--workers=1",
                "--access-logfile=-",
                "bugsink.wsgi",
            ],
            cwd=self.workdir,
            env=self._env(),
            stdout=log,
            stderr=log,
        )
        try:
            wait_http(f"{self.url}/health/ready", timeout=30)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"bugsink did not start:\n{self.log_file.read_text()}") from None

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def envelope_posts(self) -> int:
        """How many envelope POSTs the server has answered (from gunicorn's access log)."""
        if not self.log_file.exists():
            return 0
        needle = f"POST /api/{self.project_id}/envelope/ "
        return sum(needle in line for line in self.log_file.read_text().splitlines())

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call Bugsink's canonical API (/api/canonical/0) with the admin token."""
        url = path if path.startswith("http") else f"{self.url}/api/canonical/0{path}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read() or b"null")

    def _all(self, path: str, **query: str | int) -> list[dict[str, Any]]:
        url: str | None = f"{path}?{urllib.parse.urlencode(query)}"
        out: list[dict[str, Any]] = []
        while url:
            page = self.api("GET", url)
            out.extend(page["results"])
            url = page.get("next")
        return out

    def issues(self) -> list[dict[str, Any]]:
        """Every issue of the project (dicts with id, calculated_type/value, counts...)."""
        return self._all("/issues/", project=self.project_id)

    def events(self, issue: dict[str, Any] | str) -> list[dict[str, Any]]:
        """Every stored event of an issue, oldest first, as the full Sentry event JSON."""
        issue_id = issue if isinstance(issue, str) else issue["id"]
        listed = self._all("/events/", issue=issue_id, order="asc")
        return [self.api("GET", f"/events/{e['id']}/")["data"] for e in listed]


@pytest.fixture(scope="session")
def bugsink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bugsink]:
    """A real Bugsink on 127.0.0.1 with one project; `.dsn` points at it."""
    server = Bugsink(tmp_path_factory.mktemp("bugsink"))
    try:
        yield server.setup()
    finally:
        server.stop()
