"""APScheduler jobs (issue 3)."""
from __future__ import annotations


def start_in_process(app) -> None:
    """Run the jobs inside the development server (filled in by the scheduling work)."""
    app.logger.info("scheduler jobs not configured yet")
