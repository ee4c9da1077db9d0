"""The app's telemetry policy, declared once next to its catalog: how users turn telemetry off,
what the default is, what happens in CI, and whether the first-run notice shows.

    CATALOG = Catalog("imgshrink", [...], policy=Policy(
        opt_out_envs=["IMGSHRINK_NO_TELEMETRY"], cli_flag="--no-telemetry", ci="suppress"))

`prodtel.init()`, `prodtel docs` (the public usage page), `prodtel collector-config` and
`telemetry status --explain` all read `catalog.policy`, so the page can only name opt-outs the
running app honours.
"""

from __future__ import annotations

from prodtel.slotted import Slotted

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

DEFAULTS = ("opt-out", "opt-in")
CI_CHOICES = ("send", "suppress", "tag")
NOTICE_CHOICES = ("tty", "always", "never")
_ENV_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


class PolicyError(ValueError):
    """An invalid policy declaration."""


class Policy(Slotted):
    """How an app asks for consent. Every field has a default derived from the app name.

    level_env: the env var that sets the level (off|crash|error|all); default `<APP>_TELEMETRY`.
    opt_out_envs: env vars whose truthy value turns telemetry off; default `<APP>_NO_TELEMETRY`.
    cli_flag: the opt-out flag the app parses and passes as `init(cli_opt_out=...)`.
    default: "opt-out" (on after the first-run notice) or "opt-in" (off until enabled).
    ci: in CI, "send", "suppress" (send nothing) or "tag" (send, with resource `prodtel.ci`).
    agent: in runs driven by an AI coding agent (consent/agents.py), "send", "suppress" or
        "tag" (send, with resource `prodtel.agent`).
    consent_version: raise it when the app starts sending new kinds of data: the first-run
        notice shows again, and an opt-out app sends nothing until it was shown.
    notice: the first-run notice: "tty" (only on a terminal), "always" (also without one:
        CI, containers, scripts) or "never" (then an opt-out app sends only after
        `<command> telemetry enable`).
    command: the program name the notice and the usage page show; default the app name.
    """

    __slots__ = (
        "agent",
        "ci",
        "cli_flag",
        "command",
        "consent_version",
        "default",
        "level_env",
        "notice",
        "opt_out_envs",
    )

    def __init__(
        self,
        *,
        level_env: str | None = None,
        opt_out_envs: Iterable[str] | None = None,
        cli_flag: str = "--no-usage-report",
        default: str = "opt-out",
        ci: str = "send",
        notice: str = "tty",
        command: str | None = None,
        agent: str = "send",
        consent_version: int = 1,
    ) -> None:
        if default not in DEFAULTS:
            raise PolicyError(f"Policy(default=...) must be 'opt-out' or 'opt-in', not {default!r}")
        if ci not in CI_CHOICES:
            raise PolicyError(f"Policy(ci=...) must be 'send', 'suppress' or 'tag', not {ci!r}")
        if agent not in CI_CHOICES:
            raise PolicyError(
                f"Policy(agent=...) must be 'send', 'suppress' or 'tag', not {agent!r}"
            )
        if type(consent_version) is not int or consent_version < 1:
            raise PolicyError(
                f"Policy(consent_version=...) must be a whole number >= 1, not {consent_version!r}"
            )
        if isinstance(opt_out_envs, str):
            opt_out_envs = (opt_out_envs,)
        envs = None if opt_out_envs is None else tuple(opt_out_envs)
        for var in (level_env, *(envs or ())):
            if var is not None and (not var or not set(var) <= _ENV_CHARS or var[0].isdigit()):
                raise PolicyError(f"Policy: {var!r} is not an environment variable name")
        if notice not in NOTICE_CHOICES:
            raise PolicyError(
                f"Policy(notice=...) must be 'tty', 'always' or 'never', not {notice!r}"
            )
        if not cli_flag.startswith("-"):
            raise PolicyError(f"Policy(cli_flag=...) must start with '-', not {cli_flag!r}")
        self.level_env = level_env
        self.opt_out_envs = envs
        self.cli_flag = cli_flag
        self.default = default
        self.ci = ci
        self.notice = notice
        self.command = command
        self.agent = agent
        self.consent_version = consent_version

    def resolved(self, app: str) -> Policy:
        """A copy with the app-derived defaults filled in (what `catalog.policy` holds)."""
        prefix = env_prefix(app)
        return Policy(
            level_env=self.level_env or f"{prefix}_TELEMETRY",
            opt_out_envs=self.opt_out_envs or (f"{prefix}_NO_TELEMETRY",),
            cli_flag=self.cli_flag,
            default=self.default,
            ci=self.ci,
            notice=self.notice,
            command=self.command or app,
            agent=self.agent,
            consent_version=self.consent_version,
        )


def env_prefix(app: str) -> str:
    """`my-tool` -> `MY_TOOL`: the prefix of the app's default env vars."""
    return "".join(c if c.isalnum() else "_" for c in app).upper()
