"""Demo data: sample clinic slots, bookings and suggestions (issue 6)."""
from __future__ import annotations


def load(summary) -> None:
    """Add this area's sample rows; add nothing that is already there."""
