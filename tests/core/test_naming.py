"""Incident names: their shape, their UTC date, and their uniqueness under collisions and load."""

from __future__ import annotations

import random
import re
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from core_support import FixedClock, assert_log_consistent
from firebell.core import Firebell, NameSpaceExhausted, open_firebell
from firebell.core.config import parse_config
from firebell.core.naming import NameGenerator, adjectives, animals

from firebell.testing.pytest_plugin import MakeFirebell

NAME = re.compile(r"^\d{8}-[a-z]+-[a-z]+$")


class Scripted(NameGenerator):
    """Draws the given words in order (the date still comes from the clock), then repeats the last."""

    def __init__(self, *pairs: str) -> None:
        super().__init__()
        self.pairs = list(pairs)
        self.draws = 0

    def draw(self, moment: datetime) -> str:
        pair = self.pairs[min(self.draws, len(self.pairs) - 1)]
        self.draws += 1
        return f"{moment.astimezone(UTC):%Y%m%d}-{pair}"


def test_word_lists_are_big_lowercase_ascii_and_fit_a_slack_channel_name() -> None:
    for words in (adjectives(), animals()):
        assert len(words) >= 200
        assert len(set(words)) == len(words), "no duplicates"
        assert all(re.fullmatch(r"[a-z]+", word) for word in words)
    longest = f"incd-20261231-{max(adjectives(), key=len)}-{max(animals(), key=len)}-resolved"
    assert len(longest) <= 80


def test_names_have_the_shape_and_the_utc_date_of_the_clock(
    make_firebell: MakeFirebell,
) -> None:
    # 01:30 in UTC+02:00 on June 1st is still May 31st in UTC.
    clock = FixedClock(datetime(2026, 6, 1, 1, 30, tzinfo=timezone(timedelta(hours=2))))
    fb = make_firebell(entry_points=False, clock=clock)
    names = [fb.engine.declare(title="x", reporter="U1").incident.id for _ in range(30)]
    assert all(NAME.match(name) for name in names), names
    assert {name[:8] for name in names} == {"20260531"}
    assert len(set(names)) == 30
    for name in names:
        _, adjective, animal = name.split("-")
        assert adjective in adjectives() and animal in animals()

    clock.advance(20 * 60)  # 23:50 UTC
    assert fb.engine.declare(title="x", reporter="U1").incident.id.startswith("20260531")
    clock.advance(20 * 60)  # 00:10 UTC
    assert fb.engine.declare(title="x", reporter="U1").incident.id.startswith("20260601")


def test_a_taken_name_is_drawn_again(make_firebell: MakeFirebell, clock: FixedClock) -> None:
    names = Scripted("calm-otter", "calm-otter", "calm-otter", "brave-heron")
    fb = make_firebell(entry_points=False, clock=clock, names=names)
    first = fb.engine.declare(title="first", reporter="U1").incident
    second = fb.engine.declare(title="second", reporter="U1").incident
    assert (first.id, second.id) == ("20260601-calm-otter", "20260601-brave-heron")
    assert names.draws == 4
    assert (fb.engine.get(first.id).title, fb.engine.get(second.id).title) == ("first", "second")
    assert fb.store.count_events() == 2
    assert_log_consistent(fb.store)


class Counting(NameGenerator):
    """A seeded generator that counts its draws."""

    def __init__(self, seed: int) -> None:
        super().__init__(random.Random(seed))
        self.draws = 0

    def draw(self, moment: datetime) -> str:
        self.draws += 1
        return super().draw(moment)


def test_the_same_seed_collides_and_still_gives_distinct_names(
    make_firebell: MakeFirebell, clock: FixedClock
) -> None:
    # Two engines on one log drawing the same sequence: the second walks over the first's names.
    first_names, second_names = Counting(7), Counting(7)
    first = make_firebell(entry_points=False, clock=clock, names=first_names)
    second = open_firebell(first.settings, entry_points=False, clock=clock, names=second_names)
    try:
        a = [first.engine.declare(title="a", reporter="U1").incident.id for _ in range(5)]
        b = [second.engine.declare(title="b", reporter="U1").incident.id for _ in range(5)]
    finally:
        second.close()
    assert len(set(a + b)) == 10
    assert first_names.draws == 5
    assert second_names.draws == 10, "its first declare drew the five taken names, then a free one"
    assert first.store.count_incidents() == 10


def test_no_free_name_is_an_error_that_says_what_to_do(
    make_firebell: MakeFirebell, clock: FixedClock
) -> None:
    fb = make_firebell(entry_points=False, clock=clock, names=Scripted("calm-otter"))
    fb.engine.declare(title="first", reporter="U1")
    with pytest.raises(
        NameSpaceExhausted, match="No free incident name after 50 draws for 2026-06-01"
    ):
        fb.engine.declare(title="second", reporter="U1")
    assert fb.store.count_events() == 1


class SmallSpace(NameGenerator):
    """Names from two adjectives only (546 a day), so that concurrent declares often collide."""

    def __init__(self, seed: int) -> None:
        super().__init__(random.Random(seed))
        self.rng = random.Random(seed)
        self.draws = 0

    def draw(self, moment: datetime) -> str:
        self.draws += 1
        adjective = self.rng.choice(adjectives()[:2])
        return f"{moment.astimezone(UTC):%Y%m%d}-{adjective}-{self.rng.choice(animals())}"


def test_eight_threads_declaring_at_once_lose_nothing(make_firebell: MakeFirebell) -> None:
    fb = make_firebell(entry_points=False)
    # Each thread has its own Firebell (own connections) drawing from a small name space, so
    # that draws collide (sometimes at the same moment): the database must keep them apart.
    generators = [SmallSpace(seed) for seed in range(8)]
    others = [open_firebell(fb.settings, entry_points=False, names=g) for g in generators]
    names: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def declare_many(other: Firebell) -> None:
        barrier.wait()
        for n in range(25):
            try:
                name = other.engine.declare(title=f"load {n}", reporter="U1").incident.id
            except BaseException as error:
                errors.append(error)
                continue
            with lock:
                names.append(name)

    threads = [threading.Thread(target=declare_many, args=(other,)) for other in others]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for other in others:
            other.close()
    assert errors == []
    assert len(names) == 200 and len(set(names)) == 200
    assert sum(g.draws for g in generators) > 200, "names collided and were drawn again"
    assert fb.store.count_events() == 200
    assert fb.store.count_incidents() == 200
    assert {i.id for i in fb.store.list_incidents(limit=500)} == set(names)
    assert_log_consistent(fb.store)


DRIVER = textwrap.dedent(
    """
    import os, random, sys, time
    from firebell.core import open_firebell
    from firebell.core.config import parse_config
    from firebell.core.naming import NameGenerator, adjectives, animals

    class SmallSpace(NameGenerator):
        def __init__(self, rng):
            super().__init__(rng)
            self.rng = rng

        draws = 0

        def draw(self, moment):
            SmallSpace.draws += 1
            rng = self.rng
            return f"{moment:%Y%m%d}-{rng.choice(adjectives()[:2])}-{rng.choice(animals())}"

    url, count, seed, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    print("ready", flush=True)
    while not os.path.exists(go):  # all processes open the (not yet existing) log together
        time.sleep(0.001)
    settings = parse_config({"firebell": {"database_url": url}}, path=None, environ={})
    firebell = open_firebell(
        settings, entry_points=False, names=SmallSpace(random.Random(seed))
    )
    for n in range(count):
        print(firebell.engine.declare(title=f"load {n}", reporter="cli:load").incident.id)
    firebell.close()
    print("draws", SmallSpace.draws)
    """
)


def test_processes_declaring_at_once_on_a_new_log_lose_nothing(tmp_path: Path) -> None:
    driver = tmp_path / "declare_many.py"
    driver.write_text(DRIVER, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    go = tmp_path / "go"
    processes = [
        subprocess.Popen(
            [sys.executable, str(driver), url, "25", str(seed), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in range(4)
    ]
    for process in processes:
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n"
    go.touch()
    outputs = [process.communicate(timeout=120) for process in processes]
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert "locked" not in stderr
        assert process.returncode == 0, stderr
    lines = [line for stdout, _ in outputs for line in stdout.splitlines()]
    names = [line for line in lines if NAME.match(line)]
    draws = sum(int(line.split()[1]) for line in lines if line.startswith("draws "))
    assert draws > 100, "names collided across processes and were drawn again"
    assert len(names) == 100 and len(set(names)) == 100
    assert all(NAME.match(name) for name in names)
    settings = parse_config({"firebell": {"database_url": url}}, path=None, environ={})
    fb = open_firebell(settings, entry_points=False)
    try:
        assert fb.store.count_events() == 100
        assert fb.store.count_incidents() == 100
        assert_log_consistent(fb.store)
    finally:
        fb.close()
