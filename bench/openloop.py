"""Open-loop load at a fixed arrival rate, safe from coordinated omission (used by bench/load.py --rate).

A closed loop (N clients, each sending its next request when the last one is answered) slows down
with the server: when the server stalls, fewer requests are sent, and the stall hides in a few
samples. Here the request start times are fixed in advance (one every 1/rate seconds, as wrk2
does); a pool of connections takes them in order, and each request's latency is counted from its
*intended* start, so time spent waiting for a free connection, or behind a slow answer, is counted
as the resident would feel it. A request still unanswered `drain` seconds after the schedule ends
is an error.
"""

from __future__ import annotations

import queue
import random
import threading
import time


class Schedule:
    """The intended start times: t0 + i / rate, for `seconds`."""

    def __init__(self, rate: float, seconds: float):
        if rate <= 0 or seconds <= 0:
            raise ValueError("rate and seconds must be positive")
        self.rate, self.seconds = rate, seconds
        self.count = int(rate * seconds)

    def times(self, t0: float):
        for i in range(self.count):
            yield t0 + i / self.rate


def run_open_loop(
    make_client,
    choose,
    recorder,
    rate: float,
    seconds: float,
    connections: int = 32,
    drain: float = 30.0,
    seed: int = 0,
):
    """Send `rate` actions a second for `seconds` over `connections` keep-alive clients.

    make_client(n) returns an object with .intended (the time its next request is measured from),
    .step(kind, targets) and .close(), recording into `recorder` (.add(kind, status, seconds, ok,
    detail)); choose(rng) returns (kind, targets). Returns (elapsed seconds, stats).
    """
    schedule = Schedule(rate, seconds)
    jobs: queue.Queue = queue.Queue()
    lag = {"max": 0.0, "started": 0}
    lock = threading.Lock()
    stop = threading.Event()
    clients = [make_client(n) for n in range(connections)]

    def worker(client) -> None:
        while True:
            job = jobs.get()
            if job is None:
                break
            intended, kind, targets = job
            if stop.is_set():
                recorder.add(kind, "not sent", time.perf_counter() - intended, False, "still queued at the end")
            else:
                with lock:
                    lag["started"] += 1
                    lag["max"] = max(lag["max"], time.perf_counter() - intended)
                client.intended = intended
                client.step(kind, targets)
                client.intended = None
            jobs.task_done()
        client.close()

    threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in clients]
    for thread in threads:
        thread.start()
    chooser = random.Random(seed)
    t0 = time.perf_counter() + 0.05
    for intended in schedule.times(t0):
        delay = intended - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        kind, targets = choose(chooser)
        jobs.put((intended, kind, targets))
    # Let the queue drain, then count what is still waiting as unanswered.
    deadline = time.perf_counter() + drain
    while jobs.unfinished_tasks and time.perf_counter() < deadline:
        time.sleep(0.05)
    stop.set()
    unanswered = 0
    while True:
        try:
            job = jobs.get_nowait()
        except queue.Empty:
            break
        if job is not None:
            unanswered += 1
            recorder.add(job[1], "not sent", time.perf_counter() - job[0], False, "still queued at the end")
    elapsed = time.perf_counter() - t0
    for _ in threads:
        jobs.put(None)
    for thread in threads:
        thread.join(timeout=drain)
    return elapsed, {
        "scheduled": schedule.count,
        "started": lag["started"],
        "unanswered": unanswered,
        "late_max_ms": lag["max"] * 1000,
    }
