"""Real network parts for delivery tests: a forward proxy process (proxy.py) that alone can
resolve the collector's host name, and the real collector with TLS made by trustme."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.support import namespace
from tests.support.collector import Collector, collector_config, file_exporter
from tests.support.loopback import free_port, stop_process

# A name only the proxy can resolve: it runs in a private mount namespace whose /etc/hosts
# maps it to loopback; the app under test cannot resolve it at all.
PROXY_ONLY_HOST = "collector.internal"


class ForwardProxy:
    """proxy.py on 127.0.0.1 (CONNECT and plain forwarding), optionally with Basic auth."""

    def __init__(self, workdir: Path, auth: str | None = None) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.auth = auth
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        creds = f"{self.auth}@" if self.auth else ""
        return f"http://{creds}127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / "proxy.log"

    def start(self) -> ForwardProxy:
        namespace.require("the forward proxy's private /etc/hosts")
        self.workdir.mkdir(parents=True, exist_ok=True)
        hosts = self.workdir / "hosts"
        hosts.write_text(f"127.0.0.1 localhost\n127.0.0.1 {PROXY_ONLY_HOST}\n")
        cmd = [sys.executable, "-m", "proxy", "--hostname", "127.0.0.1", "--port", str(self.port)]
        cmd += ["--num-workers", "1", "--num-acceptors", "1", "--log-level", "INFO"]
        if self.auth:
            cmd += ["--basic-auth", self.auth]
        script = f"mount --bind {hosts} /etc/hosts && exec {' '.join(cmd)}"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                ["unshare", "-m", "sh", "-c", script], stdout=log, stderr=log
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"proxy exited:\n{self.log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"proxy did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def __enter__(self) -> ForwardProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def tls_collector(workdir: Path, cert_dir: Path, client_ca: Path | None = None) -> Collector:
    """The real collector with TLS on its OTLP/HTTP receiver (cert.pem/key.pem in cert_dir);
    with `client_ca`, it also demands a client certificate signed by it. Not started."""
    tls = {"cert_file": "${env:TLS_CERT}", "key_file": "${env:TLS_KEY}"}
    if client_ca:
        tls["client_ca_file"] = "${env:TLS_CLIENT_CA}"
    config = collector_config(file_exporter(), http={"tls": tls})
    c = Collector(workdir, config=config)
    c.env.update(TLS_CERT=str(cert_dir / "cert.pem"), TLS_KEY=str(cert_dir / "key.pem"))
    if client_ca:
        c.env["TLS_CLIENT_CA"] = str(client_ca)
    return c


def make_certs(directory: Path, *names: str) -> Path:
    """A trustme CA (ca.pem) and a server certificate for `names` (cert.pem, key.pem), plus a
    client certificate (client.pem: cert and key). Returns the CA file."""
    import trustme

    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(directory / "ca.pem"))
    server = ca.issue_cert(*names)
    server.private_key_pem.write_to_path(str(directory / "key.pem"))
    (directory / "cert.pem").write_bytes(b"".join(p.bytes() for p in server.cert_chain_pems))
    client = ca.issue_cert("prodtel-client@example.com")
    client.private_key_and_cert_chain_pem.write_to_path(str(directory / "client.pem"))
    return directory / "ca.pem"
