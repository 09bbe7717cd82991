"""The burst's Slack side: sends signed submissions on a schedule and times each answer.

Run as ``python -m bench.sender`` by :mod:`bench.burst`, with a JSON job on stdin (``url``,
``spacing`` in seconds, ``requests``: each a ``body`` and its ``headers``); prints one JSON
line: ``sent_at`` and ``took`` per request, in seconds, in request order. It runs in a process
of its own because the acks are Firebell's to be timed: in the bench's process the fake
services (Slack answering a hundred deliveries' calls) compete with the senders for the
interpreter lock, and a sender woken late adds that wait to the ack it measures.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

__all__ = ["send_on_schedule"]


def send_on_schedule(job: dict[str, Any]) -> dict[str, list[float]]:
    """Send every request ``spacing`` apart (one thread each); times from the first send."""
    requests: list[dict[str, Any]] = job["requests"]
    spacing = float(job["spacing"])
    sent_at = [0.0] * len(requests)
    took = [0.0] * len(requests)
    problems: list[str] = []
    lock = threading.Lock()
    with httpx.Client(timeout=30, limits=httpx.Limits(max_connections=len(requests))) as http:
        started = time.perf_counter() + 0.2  # every thread ready before the first send

        def submit(index: int) -> None:
            wait = started + index * spacing - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            request = requests[index]
            sent = time.perf_counter()
            body = str(request["body"]).encode()
            answer = http.post(job["url"], content=body, headers=request["headers"])
            took[index] = time.perf_counter() - sent
            sent_at[index] = sent - started
            if answer.status_code != 200 or answer.content:
                with lock:
                    problems.append(f"submission {index}: {answer.status_code} {answer.text}")

        with ThreadPoolExecutor(max_workers=len(requests)) as pool:
            list(pool.map(submit, range(len(requests))))
    if problems:
        raise RuntimeError("; ".join(problems))
    return {"sent_at": sent_at, "took": took}


if __name__ == "__main__":
    print(json.dumps(send_on_schedule(json.load(sys.stdin))))
