"""Command group: flask feeds list (issue 4)."""
from __future__ import annotations

from flask import Flask


def register_cli(app: Flask) -> None:
    pass
