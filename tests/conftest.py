"""Fixtures shared by every tier: real databases, each test run isolated and cleaned up.

PostgreSQL and RabbitMQ tests skip with a reason when the service does not answer, unless
``STRANGLER_REQUIRE_SERVICES=1`` (set by ``.ci/run``), where a missing service fails the run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

import pika
import pytest
from flask.testing import FlaskClient
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from legacy_monolith.app import Shop, build_shop, create_app
from legacy_monolith.platform.settings import Settings
from legacy_monolith.schema import metadata, outbox
from strangler_messaging import CloudEvent
from strangler_messaging.db import make_engine
from strangler_messaging.outbox import row_to_event
from strangler_messaging.topology import Topology

POSTGRES_URL = os.environ.get("STRANGLER_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REPO = Path(__file__).resolve().parents[1]


def services_required() -> bool:
    """Whether a missing service must fail the run rather than skip."""
    return os.environ.get("STRANGLER_REQUIRE_SERVICES") == "1"


def unavailable(reason: str) -> None:
    """Skip the test, or fail it when services are required."""
    if services_required():
        pytest.fail(f"{reason} (STRANGLER_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An AUTOCOMMIT engine on the PostgreSQL server, for creating and dropping test databases."""
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", connect_args={
        "connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        engine.dispose()
        unavailable(f"PostgreSQL does not answer at {POSTGRES_URL}: {type(exc).__name__}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_database(postgres_admin: Engine) -> Iterator[str]:
    """A fresh, uniquely named PostgreSQL database for this test session; dropped after."""
    yield from _temporary_database(postgres_admin)


@pytest.fixture
def fresh_postgres_url(postgres_admin: Engine) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (migration tests need their own)."""
    yield from _temporary_database(postgres_admin)


@pytest.fixture
def fresh_postgres_urls(postgres_admin: Engine) -> Iterator[Callable[[], str]]:
    """Makes as many fresh PostgreSQL databases as a test needs (one per deployable)."""
    with ExitStack() as stack:
        yield lambda: stack.enter_context(contextmanager(_temporary_database)(postgres_admin))


def _temporary_database(admin: Engine) -> Iterator[str]:
    name = f"strangler_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_shop_schema(postgres_database: str) -> str:
    """The session's PostgreSQL database with the monolith's schema created once."""
    engine = make_engine(postgres_database)
    metadata.create_all(engine)
    engine.dispose()
    return postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def shop_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty monolith schema on SQLite (a fresh file) and on PostgreSQL (truncated)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'monolith.db'}"
        engine = make_engine(url)
        metadata.create_all(engine)
        engine.dispose()
        yield url
        return
    url = request.getfixturevalue("postgres_shop_schema")
    engine = make_engine(url)
    with engine.begin() as conn:
        tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield url


@pytest.fixture
def shop(shop_database_url: str) -> Iterator[Shop]:
    """The monolith's wired modules on a fresh database."""
    wired = build_shop(Settings(database_url=shop_database_url))
    yield wired
    wired.engine.dispose()


@pytest.fixture
def client(shop: Shop, shop_database_url: str) -> FlaskClient:
    """A Flask test client of the monolith."""
    return create_app(Settings(database_url=shop_database_url), shop=shop).test_client()


def outbox_events(shop: Shop) -> list[CloudEvent]:
    """Every event in the monolith's outbox, in insert order."""
    with shop.engine.connect() as conn:
        rows = conn.execute(outbox.select().order_by(outbox.c.position))
        return [row_to_event(row) for row in rows]


# -- RabbitMQ ------------------------------------------------------------------------------

AMQP_BASE_URL = os.environ.get("STRANGLER_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    """A RabbitMQ URL on a vhost of this test session's own, deleted afterwards.

    The vhost is made with ``rabbitmqctl`` (root on the CI machine); where that is not
    possible the default vhost is used and every test still gets exchange and queue names of
    its own (see :func:`topology`).
    """
    vhost = f"strangler-test-{uuid.uuid4().hex[:8]}"
    made = _rabbitmqctl("add_vhost", vhost) and _rabbitmqctl(
        "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    url = AMQP_BASE_URL + (vhost if made else "%2F")
    try:
        pika.BlockingConnection(pika.URLParameters(url + "?socket_timeout=3")).close()
    except Exception as exc:
        if made:
            _rabbitmqctl("delete_vhost", vhost)
        unavailable(f"RabbitMQ does not answer at {AMQP_BASE_URL}: {type(exc).__name__}")
    yield url
    if made:
        _rabbitmqctl("delete_vhost", vhost)


def _rabbitmqctl(*args: str) -> bool:
    if shutil.which("rabbitmqctl") is None:
        return False
    result = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, timeout=60,
                            check=False)
    return result.returncode == 0


@pytest.fixture
def topology(amqp_url: str) -> Topology:
    """Exchange and queue names no other test uses."""
    return Topology(exchange=f"test-{uuid.uuid4().hex[:10]}.events")


@pytest.fixture
def amqp_channel(amqp_url: str) -> Iterator[BlockingChannel]:
    """A channel for declaring, publishing and inspecting in a test."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    yield connection.channel()
    if connection.is_open:
        with suppress(pika.exceptions.AMQPError):  # the broker dropped an idle connection
            connection.close()
