from __future__ import annotations

import pytest

from prodtel import resource


@pytest.mark.parametrize(
    ("machine", "arch"),
    [
        ("x86_64", "amd64"),
        ("AMD64", "amd64"),
        ("aarch64", "arm64"),
        ("arm64", "arm64"),
        ("armv7l", "arm32"),
        ("i686", "x86"),
        ("ppc64le", "ppc64"),
        ("s390x", "s390x"),
        ("riscv64", "riscv64"),
    ],
)
def test_arch_is_normalised_to_semconv(machine: str, arch: str) -> None:
    assert resource.normalise_arch(machine) == arch


@pytest.mark.parametrize(
    ("plat", "os_type"),
    [("linux", "linux"), ("darwin", "darwin"), ("win32", "windows"), ("freebsd14", "freebsd")],
)
def test_os_type_uses_semconv_values(plat: str, os_type: str) -> None:
    assert resource.os_type(plat) == os_type


def test_resource_has_exactly_the_documented_keys() -> None:
    attrs = resource.attributes(
        "app", "1.0", "iid", "sid", environment="prod", ci="CI", agent="claude_code"
    )
    assert set(attrs) == set(resource.KEYS)
    assert set(attrs) == {
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
    }


def test_os_version_and_machine_are_what_platform_says() -> None:
    """On Linux they come from os.uname() without importing platform: the same values."""
    import platform

    from prodtel import platform as host

    if platform.system() == "Linux":
        assert host.os_version() == platform.release()
    assert host.machine() == platform.machine()
