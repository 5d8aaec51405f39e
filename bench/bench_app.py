"""The service as gunicorn serves it, plus one bare route to measure the framework's own floor.

`/_bench/bare` goes through the same app, workers, hooks (headers, logging) and sockets as every
page, but touches no database and renders nothing: the ratio of a page to it is the cost of the
page's own work. It exists only in this benchmark module, never in the deployed app.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from app import create_app  # noqa: E402

app = create_app()


@app.route("/_bench/bare")
def bare():
    return "ok"
