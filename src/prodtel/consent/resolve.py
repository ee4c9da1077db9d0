"""Resolve the consent level from every source, and say which one decided.

1. Base level: the app's level env var if set, else the user's persisted choice, else the policy
   default (opt-out: `all` once the first-run notice has been shown; opt-in: `off`).
2. Every opt-out signal present caps it at `off`: the CLI flag, the app's opt-out env vars,
   a truthy DO_NOT_TRACK, OTEL_SDK_DISABLED=true, and CI when the app's policy suppresses CI.
Opt-outs always win.
"""

from __future__ import annotations

from prodtel.consent import levels

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from prodtel.config import Settings
    from prodtel.consent.store import ConsentStore

# Env vars that mean "running in CI"; `CI` itself counts with any value but false/0/empty.
CI_VARS = (
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "BUILDKITE",
    "CIRCLECI",
    "TRAVIS",
    "JENKINS_URL",
    "TF_BUILD",
    "TEAMCITY_VERSION",
    "BITBUCKET_BUILD_NUMBER",
    "CODEBUILD_BUILD_ID",
)


class Source:
    """One row of `status --explain`: a consent source, its value, where it lives, its effect."""

    __slots__ = ("effect", "name", "value", "where")

    def __init__(self, name: str, value: str | None, where: str, effect: str) -> None:
        self.name = name
        self.value = value
        self.where = where
        self.effect = effect

    def as_dict(self) -> dict[str, str | None]:
        return {"name": self.name, "value": self.value, "where": self.where, "effect": self.effect}


class Decision:
    """The resolved level, every source considered, and the one that decided."""

    __slots__ = (
        "ci",
        "ci_var",
        "first_run",
        "level",
        "prior",
        "problems",
        "since_ns",
        "sources",
        "until_ns",
        "winner",
    )

    def __init__(self) -> None:
        self.level = levels.OFF
        self.winner = ""
        self.sources: list[Source] = []
        self.first_run = False
        self.ci = False
        self.problems: list[str] = []
        self.since_ns = 0  # records older than this never leave (opt-in date)
        self.until_ns = 0  # records older than this are judged by `prior` (a disable's cutoff)
        self.prior = levels.OFF
        self.ci_var: str | None = None  # the env var that showed a CI run

    def allows(self, severity: int) -> bool:
        """May a record of this severity, recorded now, leave?"""
        return self.level >= levels.needed(severity)

    def allows_record(self, severity: int, time_ns: int) -> bool:
        """May a record of this severity, recorded at `time_ns`, leave? Records from before a
        disable keep the level they were recorded under; nothing before opt-in ever leaves."""
        if time_ns < self.since_ns:
            return False
        if time_ns < self.until_ns:
            return self.prior >= levels.needed(severity)
        return self.level >= levels.needed(severity)

    @property
    def level_name(self) -> str:
        return levels.name(self.level)

    def cut_off(
        self, until_ns: int, prior: int, level: int | None = None, winner: str | None = None
    ) -> Decision:
        """A new decision for a disable that took effect at `until_ns`: what was recorded
        before it is judged by `prior` (the level it was recorded under), later records by
        `level` (default: this decision's, with its winner). This decision is left unchanged,
        so a reader holding it (the worker's gate) never sees a half-made one."""
        new = Decision()
        for slot in Decision.__slots__:
            setattr(new, slot, getattr(self, slot))
        new.sources, new.problems = list(self.sources), list(self.problems)
        new.until_ns, new.prior = until_ns, prior
        if level is not None:
            new.level = level
        if winner is not None:
            new.winner = winner
        return new


def detect_ci(environ: Mapping[str, str]) -> str | None:
    """The name of the env var that shows a CI run, or None."""
    ci = environ.get("CI")
    if ci is not None and ci.strip().lower() not in ("", "0", "false", "no", "off"):
        return "CI"
    for var in CI_VARS:
        if environ.get(var):
            return var
    return None


def resolve(
    settings: Settings,
    environ: Mapping[str, str],
    store: ConsentStore | Callable[[], ConsentStore],
) -> Decision:
    """`store` may be a loader: it is only called when the env does not already decide, so an
    opt-out by env var or flag never touches the disk (and never imports platformdirs)."""
    d = Decision()
    add = d.sources.append

    # Opt-out signals, read first: each caps the level at off, whatever the base level.
    caps: list[tuple[str, str | None, str, bool]] = [
        (
            settings.cli_flag,
            "yes" if settings.cli_opt_out else None,
            "command line",
            bool(settings.cli_opt_out),
        ),
    ]
    for var in settings.opt_out_envs:
        value = environ.get(var)
        caps.append((f"env {var}", value, "environment", levels.truthy(value)))
    dnt = environ.get("DO_NOT_TRACK")
    caps.append(("env DO_NOT_TRACK", dnt, "environment", levels.truthy(dnt)))
    # OpenTelemetry's own off switch; per its spec only "true" (any case) means true.
    otel_off = environ.get("OTEL_SDK_DISABLED")
    off = otel_off is not None and otel_off.strip().lower() == "true"
    caps.append(("env OTEL_SDK_DISABLED", otel_off, "environment", off))
    ci_var = detect_ci(environ)
    d.ci = ci_var is not None
    d.ci_var = ci_var
    caps.append(
        (
            f"CI detection ({ci_var or 'none'})",
            ci_var and environ.get(ci_var),
            "environment",
            d.ci and settings.ci == "suppress",
        )
    )
    capped_by = next((name for name, _, _, active in caps if active), None)

    # 1. the base level
    env_value = environ.get(settings.level_env)
    env_level = levels.parse(env_value)
    if env_value is not None and env_level is None:
        d.problems.append(f"ignoring {settings.level_env}={env_value!r}: use off|crash|error|all")
    st: ConsentStore | None = None
    if env_level is None and capped_by is None:
        st = store() if callable(store) else store
    elif not callable(store):
        st = store
    if st is not None and st.problem:
        d.problems.append(st.problem)
    stored = levels.parse(st.get("level")) if st is not None else None
    if env_level is not None:
        d.level, d.winner = env_level, f"env {settings.level_env}"
    elif stored is not None:
        d.level, d.winner = stored, "config file"
    elif st is None:
        d.level, d.winner = levels.OFF, "config file not read"
    elif settings.policy == "opt-in":
        d.level, d.winner = levels.OFF, "policy opt-in (not enabled yet)"
    elif st.get("notice_shown_at"):
        d.level, d.winner = levels.ALL, "policy opt-out"
    else:
        d.level, d.winner, d.first_run = levels.OFF, "policy opt-out (first run)", True
    add(
        Source(
            f"env {settings.level_env}",
            env_value,
            "environment",
            f"sets {levels.name(env_level)}" if env_level is not None else "not set",
        )
    )
    if st is None:
        add(Source("config file", None, "(not read)", "not needed: the environment decided"))
    else:
        add(
            Source(
                "config file",
                st.get("level"),
                st.path,
                f"sets {levels.name(stored)}"
                if stored is not None and env_level is None
                else "overridden by env"
                if stored is not None
                else "no choice saved",
            )
        )
    add(
        Source(
            "policy default",
            settings.policy,
            "app",
            "applies" if d.winner.startswith("policy") else "not used",
        )
    )
    if settings.policy == "opt-in" and stored is not None and stored > levels.OFF and st:
        d.since_ns = int(st.get("enabled_at_ns") or 0)

    # 2. opt-outs always win; the first one present is reported as the decider.
    if capped_by is not None:
        d.level, d.winner, d.first_run = levels.OFF, capped_by, False
    for name, value, where, active in caps:
        add(
            Source(
                name,
                value,
                where,
                "caps at off" if active else "not set" if value is None else "no effect",
            )
        )
    return d
