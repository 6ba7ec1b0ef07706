"""The referral lifecycle and the plan status machine, driven by random sequences of moves: no
sequence leaves the transition table, terminal states accept nothing, every move the table
allows is accepted and every other is refused naming the allowed ones (a 409 problem at the API,
or a 403 when the move belongs to the other side)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from services.planning.domain import TRANSITIONS as PLAN_TRANSITIONS
from services.planning.domain import (
    IllegalTransition,
    PlanStatus,
    allowed_transitions,
    is_editable,
    transition,
)
from services.referrals.domain import (
    NEEDS_REASON,
    REASON_CODES,
    TRANSITIONS,
    Side,
    TransitionRefused,
    allowed_moves,
    check_move,
)
from services.referrals.domain import ReferralStatus as S
from tests.planning.conftest import PlanningApi
from tests.referrals.conftest import HOUSING, ReferralsApi
from tests.support.backends import Backend

PROBLEM = "application/problem+json"
reproducible = settings(
    max_examples=40,
    stateful_step_count=12,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
reason_codes = st.none() | st.sampled_from(REASON_CODES)


def _table_allows(current: S, requested: S, side: Side) -> bool:
    """The table read directly, plus its one written rule: the referrer may mark any referral
    entered-in-error except one already so."""
    if requested == S.ENTERED_IN_ERROR:
        return current != S.ENTERED_IN_ERROR and side == Side.REFERRER
    return side in TRANSITIONS[current].get(requested, frozenset())


@pytest.mark.parametrize("current", list(S))
def test_every_referral_move_in_the_table_is_accepted_and_every_other_refused_naming_the_allowed(
    current: S,
) -> None:
    for requested, side in itertools.product(S, Side):
        if _table_allows(current, requested, side):
            assert check_move(current, requested, side, "other") == requested
            if requested in NEEDS_REASON:
                with pytest.raises(TransitionRefused):
                    check_move(current, requested, side, None)
            continue
        with pytest.raises(TransitionRefused) as refused:
            check_move(current, requested, side, "other")
        anyone = [str(s) for s in S for who in Side if _table_allows(current, s, who)]
        mine = [str(s) for s in S if _table_allows(current, s, side)]
        assert refused.value.allowed == sorted(mine)  # only the caller's own moves
        assert refused.value.forbidden == (str(requested) in anyone)


class ReferralLifecycle(RuleBasedStateMachine):
    """Random moves by either side, with or without a reason, on one referral."""

    def __init__(self) -> None:
        super().__init__()
        self.status = S.DRAFT
        self.visited = [S.DRAFT]

    @rule(requested=st.sampled_from(list(S)), side=st.sampled_from(list(Side)), reason=reason_codes)
    def move(self, requested: S, side: Side, reason: str | None) -> None:
        expected = _table_allows(self.status, requested, side) and (
            requested not in NEEDS_REASON or reason is not None
        )
        try:
            moved = check_move(self.status, requested, side, reason)
        except TransitionRefused as refused:
            assert not expected
            assert set(refused.allowed) <= set(allowed_moves(self.status))
            return
        assert expected and moved == requested
        self.status = moved
        self.visited.append(moved)

    @invariant()
    def only_table_edges_were_taken(self) -> None:
        for before, after in itertools.pairwise(self.visited):
            assert any(_table_allows(before, after, side) for side in Side)

    @invariant()
    def a_terminal_referral_accepts_nothing(self) -> None:
        if not TRANSITIONS[self.status]:
            assert allowed_moves(self.status) in ([], [str(S.ENTERED_IN_ERROR)])


TestReferralLifecycle = ReferralLifecycle.TestCase
TestReferralLifecycle.settings = reproducible


class PlanLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.status = PlanStatus.DRAFT

    @rule(requested=st.sampled_from(list(PlanStatus)))
    def move(self, requested: PlanStatus) -> None:
        allowed = requested in PLAN_TRANSITIONS[self.status]
        try:
            self.status = transition(self.status, requested)
        except IllegalTransition as illegal:
            assert not allowed
            assert illegal.allowed == sorted(s.value for s in PLAN_TRANSITIONS[illegal.current])
            assert all(name in str(illegal) for name in illegal.allowed)
        else:
            assert allowed

    @invariant()
    def closed_is_final_and_only_draft_or_review_is_editable(self) -> None:
        if self.status == PlanStatus.CLOSED:
            assert allowed_transitions(self.status) == []
        assert is_editable(self.status) == (
            self.status in (PlanStatus.DRAFT, PlanStatus.UNDER_REVIEW)
        )


TestPlanLifecycle = PlanLifecycle.TestCase
TestPlanLifecycle.settings = reproducible


@pytest.fixture
def referrals(backend: Backend, data_dir: Path) -> Iterator[ReferralsApi]:
    api = ReferralsApi.start("referrals", backend, data_dir)
    api.directory()
    yield api
    api.runtime.database.dispose()


@pytest.mark.slow
def test_the_referrals_api_follows_the_table_for_any_sequence_of_moves(
    referrals: ReferralsApi,
) -> None:
    """Each example is a new sent referral moved at random by the referrer and the partner:
    the API accepts exactly what the table allows and refuses the rest as a problem naming
    the allowed moves (409), or the side's own moves when the other side's was asked (403)."""
    client_id = referrals.client()
    partner = (f"{HOUSING}-staff", "partner", HOUSING)

    class ReferralApiLifecycle(RuleBasedStateMachine):
        @initialize()
        def send(self) -> None:
            self.referral_id = referrals.referral(client_id)
            self.status = S.REQUESTED

        @precondition(lambda self: hasattr(self, "referral_id"))
        @rule(
            requested=st.sampled_from([s for s in S if s != S.DRAFT]),
            side=st.sampled_from(list(Side)),
            reason=reason_codes,
        )
        def move(self, requested: S, side: Side, reason: str | None) -> None:
            body = {"status": str(requested), "reason_code": reason}
            if requested == S.COMPLETED:
                body["outcome"] = "Housed"
            if side == Side.PARTNER:
                path, caller = f"/partner/referrals/{self.referral_id}/status", partner
            else:
                path, caller = f"/referrals/{self.referral_id}/status", None
            response = referrals.call(
                "POST", path, json_body=body, **({"as_": caller} if caller else {})
            )
            anyone, mine = allowed_moves(self.status), allowed_moves(self.status, side)
            if str(requested) not in anyone:
                expected_status, allowed = 409, mine
            elif str(requested) not in mine:
                expected_status, allowed = 403, mine
            elif requested in NEEDS_REASON and reason is None:
                expected_status, allowed = 422, mine  # an allowed move, missing its reason
                assert "reason_code" in response.json["errors"]["json"], response.json
            else:
                assert response.status_code == 200, response.json
                assert response.json["status"] == str(requested)
                self.status = requested
                return
            assert response.status_code == expected_status, (self.status, body, response.json)
            assert response.content_type == PROBLEM
            assert response.json["allowed"] == allowed
            assert response.json["current_status"] == str(self.status)

        @precondition(lambda self: hasattr(self, "referral_id"))
        @invariant()
        def the_stored_status_is_the_models(self) -> None:
            stored = referrals.call("GET", f"/referrals/{self.referral_id}").json
            assert stored["status"] == str(self.status)
            for step in stored["transitions"][1:]:
                assert any(
                    _table_allows(S(step["from_status"]), S(step["to_status"]), side)
                    for side in Side
                )

    run_state_machine_as_test(
        ReferralApiLifecycle,
        settings=settings(reproducible, max_examples=15, stateful_step_count=8),
    )


@pytest.fixture
def planning(backend: Backend, data_dir: Path) -> Iterator[PlanningApi]:
    api = PlanningApi.start("planning", backend, data_dir)
    yield api
    api.runtime.database.dispose()


PLAN_ACTIONS = {
    "approve": PlanStatus.ACTIVE,
    "start-review": PlanStatus.UNDER_REVIEW,
    "close": PlanStatus.CLOSED,
}


@pytest.mark.slow
def test_the_planning_api_follows_the_plan_table_for_any_sequence_of_actions(
    planning: PlanningApi,
) -> None:
    """Each example is a new plan with its goals written, then approve / start review / close
    at random: what the table allows is done; anything else is a 409 naming what is allowed."""

    class PlanApiLifecycle(RuleBasedStateMachine):
        @initialize()
        def draft(self) -> None:
            self.plan_id = planning.new_episode()["plan_id"]
            planning.write_goals(self.plan_id)
            self.status = PlanStatus.DRAFT

        @precondition(lambda self: hasattr(self, "plan_id"))
        @rule(action=st.sampled_from(sorted(PLAN_ACTIONS)))
        def act(self, action: str) -> None:
            if action == "approve":
                response = planning.approve(self.plan_id)
            else:
                body = {"reason": "moved away"} if action == "close" else None
                response = planning.call("POST", f"/plans/{self.plan_id}/{action}", json_body=body)
            target = PLAN_ACTIONS[action]
            if target in PLAN_TRANSITIONS[self.status]:
                assert response.status_code == 200, (self.status, action, response.json)
                self.status = target
                return
            assert response.status_code == 409, (self.status, action, response.json)
            assert response.content_type == PROBLEM
            assert response.json["allowed"] == allowed_transitions(self.status)
            assert response.json["current_status"] == self.status.value

        @precondition(lambda self: hasattr(self, "plan_id"))
        @invariant()
        def the_stored_plan_is_the_models(self) -> None:
            plan = planning.plan(self.plan_id)
            assert plan["status"] == self.status.value
            assert plan["allowed_transitions"] == allowed_transitions(self.status)

    run_state_machine_as_test(
        PlanApiLifecycle,
        settings=settings(reproducible, max_examples=10, stateful_step_count=8),
    )
