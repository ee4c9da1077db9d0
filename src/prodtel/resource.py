"""Resource attributes every record carries: app, OS, arch, runtime, installation and session.

Nothing here identifies a person or a machine: no host name, user, path, argv or env value.
"""

from __future__ import annotations

import os
import sys

from prodtel import __version__
from prodtel import platform as host

# platform.machine() spellings -> OTel semconv host.arch values.
_ARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "x64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv8l": "arm64",
    "armv8b": "arm64",
    "armv7l": "arm32",
    "armv7": "arm32",
    "armv6l": "arm32",
    "arm": "arm32",
    "i386": "x86",
    "i486": "x86",
    "i586": "x86",
    "i686": "x86",
    "x86": "x86",
    "ppc64": "ppc64",
    "ppc64le": "ppc64",
    "s390x": "s390x",
}
# sys.platform -> semconv os.type
_OS = {"linux": "linux", "darwin": "darwin", "win32": "windows", "cygwin": "windows"}

SDK_VERSION = __version__  # telemetry.sdk.version and the OTLP scope version
# Every key `attributes()` may set (docs/conventions.md); the collector keeps only these.
KEYS = (
    "service.name",
    "service.version",
    "os.type",
    "os.version",
    "host.arch",
    "process.runtime.name",
    "process.runtime.version",
    "app.installation.id",
    "session.id",
    "telemetry.sdk.name",
    "telemetry.sdk.language",
    "telemetry.sdk.version",
    "deployment.environment.name",
    "prodtel.ci",
    "prodtel.agent",
)


def normalise_arch(machine: str) -> str:
    m = machine.strip().lower()
    return _ARCH.get(m, m or "unknown")


def os_type(plat: str | None = None) -> str:
    plat = sys.platform if plat is None else plat  # read per call: tests inject sys.platform
    for prefix, value in _OS.items():
        if plat.startswith(prefix):
            return value
    return "".join(c for c in plat if c.isalpha()) or "unknown"


def os_version() -> str:
    """macOS product version, Windows major.minor.build, else the kernel release."""
    return host.os_version()


def attributes(
    app: str,
    version: str,
    installation_id: str,
    session_id: str,
    environment: str | None = None,
    ci: str | None = None,
    agent: str | None = None,
) -> dict[str, str]:
    attrs = {
        "service.name": app,
        "service.version": version,
        "os.type": os_type(),
        "os.version": os_version(),
        "host.arch": normalise_arch(host.machine()),
        "process.runtime.name": sys.implementation.name,
        "process.runtime.version": ".".join(map(str, sys.version_info[:3])),
        "app.installation.id": installation_id,
        "session.id": session_id,
        "telemetry.sdk.name": "prodtel",
        "telemetry.sdk.language": "python",
        "telemetry.sdk.version": SDK_VERSION,
    }
    if environment:
        attrs["deployment.environment.name"] = environment
    if ci:  # the app's CI policy is "tag": the CI system, by the env var that showed it
        attrs["prodtel.ci"] = ci
    if agent:  # the app's agent policy is "tag": which AI coding agent drives the run
        attrs["prodtel.agent"] = agent
    return attrs


def new_id() -> str:
    """A random 128-bit id as 32 hex characters (no uuid import on the hot path)."""
    return os.urandom(16).hex()
