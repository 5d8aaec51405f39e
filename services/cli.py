"""Command group: flask import teams|volunteers, flask export roster (issue 5)."""
from __future__ import annotations

from flask import Flask


def register_cli(app: Flask) -> None:
    pass
