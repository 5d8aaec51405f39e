"""Demo data: occurrences, shifts and sample hearing notices (issue 3)."""
from __future__ import annotations


def load(summary) -> None:
    """Add this area's sample rows; add nothing that is already there."""
