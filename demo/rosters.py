"""Demo data: sample assignments and attendance (issue 5)."""
from __future__ import annotations


def load(summary) -> None:
    """Add this area's sample rows; add nothing that is already there."""
