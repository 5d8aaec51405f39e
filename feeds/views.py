"""Feed routes (issue 4)."""
from flask import Blueprint

bp = Blueprint("feeds", __name__, url_prefix="/feeds")
