"""A test that expects a rule to say no must say which rule: a bare `pytest.raises(RuleViolation)`
passes for any refusal, so a mistake that trips another rule first goes unnoticed."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def bare_rule_raises(source: str) -> list[int]:
    """Lines of `with pytest.raises(RuleViolation):` that neither match= the message nor keep the error."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.With):
            continue
        for item in node.items:
            call = item.context_expr
            if (
                isinstance(call, ast.Call)
                and ast.unparse(call.func) == "pytest.raises"
                and call.args
                and ast.unparse(call.args[0]).endswith("RuleViolation")
                and not any(k.arg == "match" for k in call.keywords)
                and item.optional_vars is None
            ):
                lines.append(node.lineno)
    return lines


def test_no_bare_pytest_raises_rule_violation():
    found = {
        path.name: lines
        for path in sorted(TESTS.glob("test_*.py"))
        if (lines := bare_rule_raises(path.read_text(encoding="utf-8")))
    }
    assert found == {}, "use match= or `as refused` and assert refused.value.code"


def test_the_check_finds_a_bare_one():
    assert bare_rule_raises("with pytest.raises(RuleViolation):\n    f()\n") == [1]
    assert bare_rule_raises("with pytest.raises(RuleViolation, match='full'):\n    f()\n") == []
    assert bare_rule_raises("with pytest.raises(RuleViolation) as refused:\n    f()\n") == []
