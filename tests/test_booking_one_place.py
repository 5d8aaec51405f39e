"""Every Assignment is created by `assignments._book` (refactor D6): the waiting list's accept and
the trade board's take go through it, with `from_held` / `transfer` saying which place is taken."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from models import Role, Shift, db
from services import assignments as service
from services.errors import RuleViolation
from tests.factories import make_assignment, make_shift, make_team, make_user
from tests.test_trade_services import evening

ROOT = Path(__file__).resolve().parent.parent


def test_only_book_constructs_an_assignment():
    makers = []
    for folder in ("services", "views", "api", "scheduler", "feeds"):
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for fn in ast.walk(tree):
                if not isinstance(fn, ast.FunctionDef):
                    continue
                for node in ast.walk(fn):
                    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Assignment":
                        makers.append(f"{path.relative_to(ROOT)}:{fn.name}")
    assert makers == ["services/assignments.py:_book"]


def test_from_held_needs_a_hold_and_keeps_the_total(app):
    coordinator = make_user(Role.COORDINATOR)
    on, taker = make_user(), make_user()
    team = make_team(coordinator=coordinator, members=[on, taker])
    shift = make_shift(team, evening(5), min_volunteers=1, max_volunteers=2)
    make_assignment(shift, on)
    db.session.commit()
    with pytest.raises(RuleViolation) as refused:  # no place is held: nothing to convert
        service.in_transaction(lambda: service._book(taker, shift.id, taker.id, self_service=True, from_held=True))
    assert refused.value.code == "no_offer"
    db.session.get(Shift, shift.id).held_count = 1  # as the waiting list's offer engine holds it
    db.session.commit()
    # A free-place booking may not take the held place ...
    with pytest.raises(RuleViolation) as refused:
        service.sign_up(taker, shift.id)
    assert refused.value.code == "place_held"
    # ... converting it may, in one statement: held down, assigned up, the total unchanged.
    service.in_transaction(
        lambda: service._book(taker, shift.id, taker.id, self_service=True, from_held=True, announce=False)
    )
    shift = db.session.get(Shift, shift.id, populate_existing=True)
    assert (shift.assigned_count, shift.held_count) == (2, 0)
