"""Command group: flask schedule generate, flask scheduler run (issue 3)."""
from __future__ import annotations

from flask import Flask


def register_cli(app: Flask) -> None:
    pass
