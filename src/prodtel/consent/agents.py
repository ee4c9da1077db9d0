"""Runs driven by AI coding agents, recognised by the environment markers the agents set in the
shells they spawn. Like CI detection: the app's policy (`agent=`) sends, suppresses or tags
them (resource `prodtel.agent`). Only the presence of a variable counts; its value is never
sent."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

FALSY = frozenset({"", "0", "false", "no", "off"})

# (env var, agent name). Each marker is one the tool sets itself in the processes it runs.
MARKERS: tuple[tuple[str, str], ...] = (
    # Claude Code: "CLAUDECODE: set to 1 in shell environments Claude Code spawns"
    # (https://code.claude.com/docs/en/env-vars).
    ("CLAUDECODE", "claude_code"),
    # Gemini CLI: the shell tool sets GEMINI_CLI=1 in the command's environment
    # (https://github.com/google-gemini/gemini-cli/blob/main/docs/tools/shell.md).
    ("GEMINI_CLI", "gemini_cli"),
    # OpenAI Codex CLI: commands run in its sandbox get CODEX_SANDBOX (e.g. "seatbelt") and,
    # without network, CODEX_SANDBOX_NETWORK_DISABLED=1
    # (https://github.com/openai/codex/blob/main/codex-rs/core/src/spawn.rs).
    ("CODEX_SANDBOX", "codex"),
    ("CODEX_SANDBOX_NETWORK_DISABLED", "codex"),
    # Cursor's agent terminal sets CURSOR_AGENT=1; the AWS CDK CLI keys on the same marker
    # (https://github.com/aws/aws-cdk-cli/blob/main/packages/aws-cdk/lib/cli/util/detect-agent.ts).
    ("CURSOR_AGENT", "cursor"),
)


def detect(environ: Mapping[str, str]) -> tuple[str, str] | None:
    """(agent name, the env var that showed it) for a run driven by an AI agent, or None."""
    for var, name in MARKERS:
        value = environ.get(var)
        if value is not None and value.strip().lower() not in FALSY:
            return name, var
    return None
