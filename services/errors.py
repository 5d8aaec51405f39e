"""The one error type services raise when a rule says no; views turn it into a 4xx with its message."""

from __future__ import annotations


class RuleViolation(Exception):
    """A request that breaks a rule. `message` is for people (already translated); `code` for machines."""

    def __init__(self, message: str, code: str = "rule_violation", status: int = 409):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
