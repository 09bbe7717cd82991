"""Databases that answer but cannot be used: each refusal says what is wrong and what to change.

Read-only logs are made so for real: on PostgreSQL through ``default_transaction_read_only`` (as
on a hot standby, the server refuses every write), on SQLite by a file this process cannot
write (immutable when the tests run as root, whom file modes do not stop; read-only modes
otherwise). Waiting cures none of these, so none of them says to try again in a moment.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from contract_support import declare, postgres_schema, require_postgres_url, settings_for
from firebell.core import ConfigError, DatabaseUnavailable, DatabaseUnusable
from firebell.core.database import create_database_engine, database_url_problem, redact_url
from firebell.core.engine import Engine
from firebell.core.store import EventStore

from firebell.testing.fake_slack import BOT_TOKEN, FakeSlack
from firebell.testing.slack_requests import SIGNING_SECRET
from firebell.testing.unwritable import unwritable


def read_only_postgres_url(url: str) -> str:
    """``url`` with every transaction read-only, as a standby's are."""
    parsed = sa.make_url(url)
    options = f"{parsed.query.get('options', '')} -cdefault_transaction_read_only=on".strip()
    return parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)


@pytest.fixture
def read_only_log(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a log holding one incident, which this process can read but not write."""
    if backend == "sqlite":
        path = tmp_path / "read-only" / "firebell.db"
        url = f"sqlite:///{path}"
        _with_one_incident(url)
        with unwritable(path):
            yield url
        return
    with postgres_schema(require_postgres_url()) as url:
        _with_one_incident(url)
        yield read_only_postgres_url(url)


def _with_one_incident(url: str) -> None:
    store = EventStore(url)
    store.create_tables()
    declare(store, "20260601-honest-rhino")
    store.dispose()


def test_a_read_only_log_is_read_but_refuses_writes_saying_it_is_read_only(
    read_only_log: str,
) -> None:
    store = EventStore(read_only_log)
    try:
        store.create_tables()  # at the newest revision already: opening it writes nothing
        engine = Engine(store, settings_for(read_only_log))
        assert [i.id for i in store.list_incidents()] == ["20260601-honest-rhino"]

        with pytest.raises(DatabaseUnusable) as refused:
            engine.declare(title="Search is slow", reporter="U_BO")
    finally:
        store.dispose()

    message = str(refused.value)
    assert isinstance(refused.value, DatabaseUnavailable)  # the worker and /healthz wait it out
    assert "is read-only" in message and "Nothing was written" in message
    assert "try again" not in message
    assert "writable" in message or "default_transaction_read_only" in message


def test_a_read_only_log_is_seen_without_writing(read_only_log: str, database_url: str) -> None:
    store, healthy = EventStore(read_only_log), EventStore(database_url)
    healthy.create_tables()
    try:
        problem = store.write_problem()
        assert healthy.write_problem() is None
    finally:
        store.dispose()
        healthy.dispose()

    assert problem is not None and "is read-only" in problem
    if read_only_log.startswith("sqlite"):
        assert "firebell.db cannot be written" in problem and "chmod" in problem
    else:
        assert "transaction_read_only is on" in problem


def test_a_log_in_a_folder_that_cannot_be_written_cannot_be_created(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    url = f"sqlite:///{folder / 'firebell.db'}"
    with unwritable(folder):
        store = EventStore(url)
        try:
            seen = store.write_problem()
            with pytest.raises(DatabaseUnusable) as refused:
                store.create_tables()
        finally:
            store.dispose()

    assert seen is not None and f"its folder {folder} cannot be written" in seen
    assert "cannot be created" in seen
    assert f"its folder {folder} cannot be written" in str(refused.value)
    assert "try again" not in str(refused.value)


def test_a_file_that_is_not_a_database_is_named_as_such(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_text("hello\n", encoding="utf-8")
    store = EventStore(f"sqlite:///{junk}")
    try:
        with pytest.raises(DatabaseUnusable) as refused:
            store.create_tables()
    finally:
        store.dispose()

    assert str(refused.value).startswith(f"{junk} is not an SQLite database")
    assert "try again" not in str(refused.value)
    assert junk.read_text(encoding="utf-8") == "hello\n"


def test_a_folder_given_as_the_log_is_named_as_such(tmp_path: Path) -> None:
    store = EventStore(f"sqlite:///{tmp_path}")
    try:
        with pytest.raises(DatabaseUnusable) as refused:
            store.list_incidents()
    finally:
        store.dispose()

    assert f"{tmp_path} is a folder, not a database file" in str(refused.value)
    assert f"sqlite:///{tmp_path / 'firebell.db'}" in str(refused.value)


def test_a_folder_that_cannot_be_created_is_refused_at_once(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("", encoding="utf-8")

    with pytest.raises(DatabaseUnusable, match=r"Cannot create the folder .*a-file/logs"):
        EventStore(f"sqlite:///{tmp_path / 'a-file' / 'logs' / 'firebell.db'}")


@pytest.mark.postgres
def test_a_postgres_database_that_does_not_exist_says_to_create_it() -> None:
    missing = f"firebell_missing_{uuid.uuid4().hex[:8]}"
    url = sa.make_url(require_postgres_url()).set(database=missing)
    store = EventStore(url.render_as_string(hide_password=False))
    try:
        with pytest.raises(DatabaseUnusable) as refused:
            store.list_incidents()
    finally:
        store.dispose()

    message = str(refused.value)
    assert f'database "{missing}" does not exist' in message and "createdb" in message
    assert "try again" not in message


@pytest.mark.postgres
def test_a_postgres_role_that_does_not_exist_is_a_refused_login() -> None:
    url = sa.make_url(require_postgres_url()).set(username="nobody_here", password="s3cret-pw")
    store = EventStore(url.render_as_string(hide_password=False))
    try:
        with pytest.raises(DatabaseUnusable) as refused:
            store.list_incidents()
    finally:
        store.dispose()

    message = str(refused.value)
    assert "refused the login" in message and "nobody_here" in message
    assert "s3cret-pw" not in message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("notaurl", "is not a database URL"),
        ("", "is not a database URL"),
        ("postgresql://u:s3cret@db:notaport/x", "is not a database URL"),
        ("mysql://u:s3cret@db/x", "only sqlite:// and postgresql:// are supported"),
        ("foo://x", "only sqlite:// and postgresql:// are supported"),
        ("postgres://u:s3cret@db/x", "write postgresql://"),
        ("postgresql+psycopg2://u:s3cret@db/x", "through psycopg"),
        ("sqlite://firebell.db", "three or four slashes"),
        ("sqlite://", "in-memory SQLite database"),
        ("sqlite:///:memory:", "in-memory SQLite database"),
        ("sqlite:///file:log?mode=memory&uri=true", "in-memory SQLite database"),
    ],
)
def test_urls_firebell_cannot_use_are_refused_before_connecting(url: str, expected: str) -> None:
    problem = database_url_problem(url)
    with pytest.raises(ConfigError) as refused:
        create_database_engine(url)

    assert problem is not None and expected in problem
    assert expected in str(refused.value) and "FIREBELL_DATABASE_URL" in str(refused.value)
    assert "s3cret" not in problem and "s3cret" not in redact_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///firebell.db",
        "sqlite:////var/firebell.db",
        "postgresql://u@db/x",
        "postgresql+psycopg://db/x",
    ],
)
def test_the_urls_firebell_runs_on_pass(url: str) -> None:
    assert database_url_problem(url) is None


# -- what the CLI and `firebell run` say ------------------------------------------------------

FIREBELL = str(Path(sys.executable).with_name("firebell"))


def firebell(
    tmp_path: Path, url: str, *args: str, config: str = ""
) -> subprocess.CompletedProcess[str]:
    """The installed ``firebell ARGS`` on the log at ``url`` (``config``: plugins.toml's text)."""
    (tmp_path / "plugins.toml").write_text(config, encoding="utf-8")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("FIREBELL_", "SLACK_"))}
    return subprocess.run(
        [FIREBELL, *args],
        env={**environ, "FIREBELL_DATABASE_URL": url} if url else environ,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_declare_on_a_read_only_log_is_one_line_and_doctor_finds_it(
    read_only_log: str, tmp_path: Path
) -> None:
    declared = firebell(tmp_path, read_only_log, "declare", "Read-only test")
    doctor = firebell(tmp_path, read_only_log, "doctor")

    assert declared.returncode == 1, declared.stderr
    assert declared.stderr.startswith("error: The event log ")
    assert declared.stderr.count("\n") == 1 and "is read-only" in declared.stderr
    assert doctor.returncode == 1, doctor.stdout
    assert "fail database: The event log " in doctor.stdout and "is read-only" in doctor.stdout
    assert "Traceback" not in declared.stderr + doctor.stdout + doctor.stderr


@pytest.mark.parametrize("what", ["junk", "folder"])
def test_a_log_that_is_no_database_is_one_line(tmp_path: Path, what: str) -> None:
    path = tmp_path / "log"
    if what == "junk":
        path.write_text("hello\n", encoding="utf-8")
    else:
        path.mkdir()

    listed = firebell(tmp_path, f"sqlite:///{path}", "list")
    doctor = firebell(tmp_path, f"sqlite:///{path}", "doctor")

    expected = "is not an SQLite database" if what == "junk" else "is a folder"
    assert listed.returncode == 1 and listed.stderr.count("\n") == 1
    assert expected in listed.stderr and "try again" not in listed.stderr
    assert doctor.returncode == 1 and f"fail database: {path} {expected}" in doctor.stdout
    assert "Traceback" not in listed.stderr + doctor.stdout + doctor.stderr


@pytest.mark.parametrize(
    ("url", "config", "where"),
    [
        ("notaurl", "", "FIREBELL_DATABASE_URL: 'notaurl' is not a database URL"),
        ("mysql://a/b", "", "FIREBELL_DATABASE_URL: 'mysql://a/b' is a mysql URL"),
        (
            "sqlite:///:memory:",
            "",
            "FIREBELL_DATABASE_URL: 'sqlite:///:memory:' is an in-memory SQLite database",
        ),
        (
            "",
            '[firebell]\ndatabase_url = "sqlite://"\n',
            "plugins.toml: [firebell] database_url: 'sqlite://' is an in-memory SQLite database",
        ),
        (
            "",
            '[firebell]\ndatabase_url = "mysql://fb:s3cret@a/b"\n',
            "plugins.toml: [firebell] database_url: 'mysql://fb:***@a/b' is a mysql URL",
        ),
    ],
)
def test_a_database_url_firebell_cannot_use_is_a_configuration_error(
    tmp_path: Path, url: str, config: str, where: str
) -> None:
    listed = firebell(tmp_path, url, "list", config=config)
    doctor = firebell(tmp_path, url, "doctor", config=config)

    assert listed.returncode == 2 and listed.stderr.startswith(f"error: {where}")
    assert listed.stderr.count("\n") == 1
    assert doctor.returncode == 1 and f"fail config: {where}" in doctor.stdout
    assert "Traceback" not in listed.stderr + doctor.stdout + doctor.stderr
    assert "s3cret" not in listed.stderr + doctor.stdout


def test_postgresql_without_its_driver_says_what_to_install(tmp_path: Path) -> None:
    # psycopg is the optional extra firebell[postgres]; here it is made impossible to import.
    probe = (
        "import sys\n"
        "sys.modules['psycopg'] = None\n"
        "from firebell.adapters.cli.main import main\n"
        "main(['list'])\n"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FIREBELL_")}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={**environ, "FIREBELL_DATABASE_URL": "postgresql://fb@127.0.0.1:9/fb"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "its driver is not installed" in done.stderr
    assert "pip install 'firebell[postgres]'" in done.stderr


@pytest.mark.postgres
def test_a_missing_postgres_database_is_one_line_that_says_to_create_it(tmp_path: Path) -> None:
    url = sa.make_url(require_postgres_url()).set(database=f"fb_missing_{uuid.uuid4().hex[:8]}")

    listed = firebell(tmp_path, url.render_as_string(hide_password=False), "list")
    doctor = firebell(tmp_path, url.render_as_string(hide_password=False), "doctor")

    assert listed.returncode == 1 and listed.stderr.count("\n") == 1
    assert "does not exist" in listed.stderr and "createdb" in listed.stderr
    assert "try again" not in listed.stderr
    assert "fail database: The database in " in doctor.stdout and ".." not in doctor.stdout


def test_healthz_is_unhealthy_while_the_log_cannot_be_written(
    read_only_log: str, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (tmp_path / "plugins.toml").write_text("", encoding="utf-8")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("FIREBELL_", "SLACK_"))}
    with FakeSlack() as slack:
        process = subprocess.Popen(
            [FIREBELL, "run", "--host", "127.0.0.1", "--port", str(port)],
            env={
                **environ,
                "FIREBELL_DATABASE_URL": read_only_log,
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": slack.url + "/api/",
            },
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            health = _first_answer(f"http://127.0.0.1:{port}/healthz", process)
        finally:
            process.terminate()
            _, stderr = process.communicate(timeout=60)

    assert health.status_code == 503, stderr
    [problem] = [p for p in health.json()["problems"] if "read-only" in p]
    assert problem.startswith("The event log ")


def _first_answer(url: str, process: subprocess.Popen[str]) -> httpx.Response:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            return httpx.get(url, timeout=5)
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"firebell run did not answer (exit code {process.poll()})")
