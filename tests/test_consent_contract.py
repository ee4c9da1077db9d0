"""The consent contract as a hypothesis state machine, against a real receiving socket:
nothing recorded while not consented (or before opt-in) is ever received.

The model computes consent from the documented rules on its own, not from prodtel's decision.
"""

from __future__ import annotations

import os
import tempfile

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import prodtel
from prodtel import Attr, Catalog, Event
from prodtel.consent import levels
from tests.support.loopback import Receiver

CAT = Catalog("contract", [Event("tick", "A tick.", attrs=[Attr("seq", int, "Sequence.")])])
LEVEL_ENV, DNT = "CONTRACT_TELEMETRY", "DO_NOT_TRACK"


class ConsentContract(RuleBasedStateMachine):
    receiver = Receiver()

    @initialize(policy=st.sampled_from(["opt-out", "opt-in"]), notice_seen=st.booleans())
    def start(self, policy: str, notice_seen: bool) -> None:
        self.dir = tempfile.mkdtemp()
        self.policy = policy
        self.env: dict[str, str | None] = {LEVEL_ENV: None, DNT: None}
        self.persisted: str | None = None
        if notice_seen:
            with open(os.path.join(self.dir, "telemetry.json"), "w") as f:
                f.write('{"notice_shown_at": "2026-01-01"}')
        self.notice_seen = notice_seen
        self.seq = 0
        self.consented: set[int] = set()
        self.received_before = len(self.receiver.records)
        self.restart()

    # -- the model ---------------------------------------------------------------------------
    def model_level(self) -> int:
        if levels.truthy(self.env[DNT]):
            return levels.OFF
        env_level = levels.parse(self.env[LEVEL_ENV])
        if env_level is not None:
            return env_level
        if self.persisted is not None:
            return levels.NAMES.index(self.persisted)
        if self.policy == "opt-out" and self.notice_seen:
            return levels.ALL
        return levels.OFF

    # -- actions -----------------------------------------------------------------------------
    def restart(self) -> None:
        for k, v in self.env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        prodtel.init(
            CAT,
            "1.0",
            endpoint=self.receiver.url,
            config_dir=self.dir,
            policy=self.policy,
            exit_timeout=1.0,
        )

    @rule(
        dnt=st.sampled_from([None, "1", "0", "true"]),
        level=st.sampled_from([None, "off", "crash", "error", "all", "bogus"]),
    )
    def change_env_and_restart(self, dnt: str | None, level: str | None) -> None:
        prodtel.shutdown(1.0)
        self.env = {LEVEL_ENV: level, DNT: dnt}
        self.restart()

    @rule()
    def restart_same_env(self) -> None:
        prodtel.shutdown(1.0)
        self.restart()

    @rule(policy=st.sampled_from(["opt-out", "opt-in"]))
    def app_update_changes_policy(self, policy: str) -> None:
        prodtel.shutdown(1.0)
        self.policy = policy
        self.restart()

    @rule(level=st.sampled_from(["crash", "error", "all"]))
    def enable(self, level: str) -> None:
        prodtel.current().enable(levels.NAMES.index(level))  # type: ignore[union-attr]
        self.persisted = level

    @rule()
    def disable(self) -> None:
        prodtel.current().disable()  # type: ignore[union-attr]
        self.persisted = "off"

    @rule(n=st.integers(min_value=1, max_value=3))
    def track(self, n: int) -> None:
        for _ in range(n):
            self.seq += 1
            if self.model_level() == levels.ALL:
                self.consented.add(self.seq)
            prodtel.track("tick", seq=self.seq)

    @rule()
    def flush(self) -> None:
        prodtel.flush(2.0)

    # -- the contract ------------------------------------------------------------------------
    @invariant()
    def nothing_unconsented_was_received(self) -> None:
        got = {
            r["attributes"]["seq"]
            for r in self.receiver.records[self.received_before :]
            if r["event_name"] == "tick"
        }
        leaked = got - self.consented
        assert not leaked, f"received ticks recorded without consent: {sorted(leaked)}"

    def teardown(self) -> None:
        prodtel.shutdown(1.0)
        for k in (LEVEL_ENV, DNT):
            os.environ.pop(k, None)
        self.nothing_unconsented_was_received()


ConsentContract.TestCase.settings = settings(max_examples=30, stateful_step_count=12, deadline=None)
TestConsentContract = ConsentContract.TestCase
