"""The Notion plugin's pure parts: splitting text at Notion's limits, and the rate limiter."""

from __future__ import annotations

import threading
import time

from firebell.plugins.notion.content import (
    MAX_RICH_TEXT_ITEMS,
    bullet,
    chunks,
    paragraph,
    rich_text,
    split_text,
)
from firebell.plugins.notion.rate_limit import RateLimiter
from hypothesis import given
from hypothesis import strategies as st


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@given(st.text(max_size=6000))
def test_split_text_keeps_the_text_and_every_piece_within_2000_utf16_units(text: str) -> None:
    pieces = split_text(text)

    assert "".join(pieces) == text
    assert all(0 < utf16_length(piece) <= 2000 for piece in pieces)


def test_split_text_never_cuts_a_character_in_two() -> None:
    text = "a" * 1999 + "😀" + "b"  # the emoji is two UTF-16 units: it cannot end piece one

    assert split_text(text) == ["a" * 1999, "😀b"]


def test_a_text_of_exactly_2000_is_one_piece() -> None:
    assert split_text("x" * 2000) == ["x" * 2000]
    assert split_text("x" * 2001) == ["x" * 2000, "x"]
    assert split_text("") == []


def test_rich_text_splits_and_links_every_piece() -> None:
    items = rich_text("y" * 4500, link="https://example.com", bold=True)

    assert [len(i["text"]["content"]) for i in items] == [2000, 2000, 500]
    assert all(i["text"]["link"] == {"url": "https://example.com"} for i in items)
    assert all(i["annotations"]["bold"] for i in items)


def test_a_block_with_more_than_100_items_continues_in_the_next() -> None:
    runs = [rich_text("z") for _ in range(MAX_RICH_TEXT_ITEMS + 5)]

    blocks = paragraph(*runs)

    assert [len(b["paragraph"]["rich_text"]) for b in blocks] == [100, 5]
    assert bullet(rich_text("one line"))[0]["type"] == "bulleted_list_item"


def test_chunks_are_request_sized() -> None:
    blocks = [{"n": n} for n in range(250)]

    assert [len(c) for c in chunks(blocks)] == [100, 100, 50]
    assert [b for c in chunks(blocks) for b in c] == blocks


class ManualTime:
    """A monotonic clock and sleep that only move when something sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_rate_limiter_allows_per_second_requests_in_any_window() -> None:
    manual = ManualTime()
    limiter = RateLimiter(3, clock=manual.clock, sleep=manual.sleep)
    starts = []
    for _ in range(10):
        limiter.acquire()
        starts.append(manual.now)

    assert starts[:3] == [100.0] * 3  # a burst up to the limit
    for i in range(3, len(starts)):
        assert starts[i] - starts[i - 3] >= 1.0  # never a fourth in one second
    assert starts[-1] - starts[0] < 3.3  # and not much slower than the limit


def test_a_fractional_rate_spaces_requests() -> None:
    manual = ManualTime()
    limiter = RateLimiter(0.5, clock=manual.clock, sleep=manual.sleep)
    starts = []
    for _ in range(3):
        limiter.acquire()
        starts.append(manual.now)

    assert starts[1] - starts[0] >= 2.0
    assert starts[2] - starts[1] >= 2.0


def test_the_rate_limiter_is_shared_by_threads() -> None:
    limiter = RateLimiter(50)
    starts: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(20):
            limiter.acquire()
            with lock:
                starts.append(time.monotonic())

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    starts.sort()
    assert len(starts) == 80
    assert all(starts[i + 50] - starts[i] >= 1.0 for i in range(len(starts) - 50))
