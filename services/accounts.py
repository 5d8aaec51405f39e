"""People's accounts: changes an admin makes to someone else's account."""

from __future__ import annotations

from models import User, record

from .transactions import unit_of_work


@unit_of_work
def set_password(actor: User, user: User, password: str) -> None:
    """Set a new password (the form checked the policy: models.users.PASSWORD_MIN_LENGTH)."""
    user.set_password(password)
    record(actor, "user.set_password", "user", user.id)
