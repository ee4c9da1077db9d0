"""Resolve the consent level from every source, and say which one decided.

1. Base level: the app's level env var if set, else the user's persisted choice, else the policy
   default (opt-out: `all` once the first-run notice has been shown; opt-in: `off`).
2. Every opt-out signal present caps it at `off`: the CLI flag, the app's opt-out env vars,
   a truthy DO_NOT_TRACK, OTEL_SDK_DISABLED=true, CI when the app's policy suppresses CI, and
   a run driven by an AI coding agent when the app's policy suppresses those (consent/agents.py).
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
        "agent",
        "agent_var",
        "ci",
        "ci_var",
        "first_run",
        "level",
        "local",
        "prior",
        "problems",
        "renotice",
        "since_ns",
        "sources",
        "until_ns",
        "winner",
    )

    def __init__(self) -> None:
        self.level = levels.OFF
        self.local = False  # `local`: record at `level`, keep on this machine, upload nothing
        self.winner = ""
        self.sources: list[Source] = []
        self.first_run = False
        self.renotice = False  # the catalog's consent version was raised: show the notice again
        self.ci = False
        self.problems: list[str] = []
        self.since_ns = 0  # records older than this never leave (opt-in date)
        self.until_ns = 0  # records older than this are judged by `prior` (a disable's cutoff)
        self.prior = levels.OFF
        self.ci_var: str | None = None  # the env var that showed a CI run
        self.agent: str | None = None  # the AI coding agent driving this run (consent/agents)
        self.agent_var: str | None = None  # the env var that showed it

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
        return levels.LOCAL if self.local and self.level else levels.name(self.level)

    @property
    def uploads(self) -> bool:
        """May anything leave this machine now (any level but off and local)?"""
        return self.level > levels.OFF and not self.local

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
    from prodtel.consent import agents

    found = agents.detect(environ)
    d.agent, d.agent_var = found if found else (None, None)
    caps.append(
        (
            f"AI agent detection ({d.agent_var or 'none'})",
            d.agent_var and environ.get(d.agent_var),
            "environment",
            d.agent is not None and settings.agent == "suppress",
        )
    )
    capped_by = next((name for name, _, _, active in caps if active), None)

    # 1. the base level
    env_value = environ.get(settings.level_env)
    env_choice = levels.parse_choice(env_value)
    env_level = env_choice[0] if env_choice else None
    if env_value is not None and env_level is None:
        d.problems.append(
            f"ignoring {settings.level_env}={env_value!r}: use off|crash|error|all|local"
        )
    st: ConsentStore | None = None
    if env_level is None and capped_by is None:
        st = store() if callable(store) else store
    elif not callable(store):
        st = store
    if st is not None and st.problem:
        d.problems.append(st.problem)
    stored_choice = levels.parse_choice(st.get("level")) if st is not None else None
    stored = stored_choice[0] if stored_choice else None
    if env_choice is not None:
        d.level, d.local = env_choice
        d.winner = f"env {settings.level_env}"
    elif stored_choice is not None:
        d.level, d.local = stored_choice
        d.winner = "config file"
    elif st is None:
        d.level, d.winner = levels.OFF, "config file not read"
    elif settings.policy == "opt-in":
        d.level, d.winner = levels.OFF, "policy opt-in (not enabled yet)"
    elif st.get("notice_shown_at"):
        d.level, d.winner = levels.ALL, "policy opt-out"
    else:
        d.level, d.winner, d.first_run = levels.OFF, "policy opt-out (first run)", True
    _consent_version(d, settings, st, env_choice is not None)
    add(
        Source(
            f"env {settings.level_env}",
            env_value,
            "environment",
            f"sets {_choice_name(env_choice)}" if env_choice is not None else "not set",
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
                f"sets {_choice_name(stored_choice)}"
                if stored_choice is not None and env_level is None
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
        d.level, d.winner, d.first_run, d.local = levels.OFF, capped_by, False, False
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


def _choice_name(choice: tuple[int, bool]) -> str:
    return levels.LOCAL if choice[1] else levels.name(choice[0])


def seen_version(store: ConsentStore) -> int:
    """The consent version the user last saw (the notice, or an explicit enable); files from
    before consent versions count as version 1."""
    v = store.get("consent_version")
    return v if type(v) is int else 1


def _consent_version(d: Decision, settings: Settings, st: ConsentStore | None, env: bool) -> None:
    """The catalog's consent version was raised since the user last saw the notice: it shows
    again, and an opt-out app sends nothing until it was shown (an explicit env level stands)."""
    version = settings.catalog.policy.consent_version
    if st is None or env or d.level == levels.OFF or d.local or seen_version(st) >= version:
        return
    if settings.policy == "opt-out":
        d.level, d.first_run = levels.OFF, True
        d.winner = f"consent version {version} (notice not shown yet)"
    else:
        d.renotice = True
