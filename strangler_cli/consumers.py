"""The named consumers ``strangler run consumer <name>`` can run.

Each entry builds an :class:`~strangler_messaging.consumer.EventConsumer` from the environment.
Extracted services register theirs here as they arrive.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from strangler_messaging.consumer import EventConsumer

ConsumerFactory = Callable[[], EventConsumer]

EVENT_SCHEMAS = Path(__file__).resolve().parents[1] / "contracts" / "events"


def _catalog() -> EventConsumer:
    """The catalog service's read copy (CATALOG_DATABASE_URL), fed by the product events."""
    from extracted.catalog.projection import catalog_consumer
    from extracted.catalog.settings import CatalogSettings
    from strangler_messaging.db import make_engine
    from strangler_messaging.schemas import SchemaRegistry

    engine = make_engine(CatalogSettings.from_env().database_url)
    return catalog_consumer(engine, SchemaRegistry.from_directory(EVENT_SCHEMAS.resolve()))


def _monolith() -> EventConsumer:
    """Reverse sync into the monolith (MONOLITH_DATABASE_URL) once the service owns writes."""
    from legacy_monolith.catalog.sync import monolith_consumer
    from legacy_monolith.platform.settings import Settings
    from strangler_messaging.db import make_engine
    from strangler_messaging.schemas import SchemaRegistry

    engine = make_engine(Settings.from_env().database_url)
    return monolith_consumer(engine, SchemaRegistry.from_directory(EVENT_SCHEMAS.resolve()))


def _notifications() -> EventConsumer:
    """The notifications service's recording (NOTIFICATIONS_DATABASE_URL); it enqueues each
    recorded notification's email job on RabbitMQ (AMQP_URL) for `strangler run worker`."""
    from extracted.notifications.delivery import DeliverySettings
    from extracted.notifications.jobs import DeliveryJobs, make_broker
    from extracted.notifications.recording import notifications_consumer
    from extracted.notifications.settings import NotificationsSettings
    from strangler_cli.settings import amqp_url
    from strangler_messaging.db import make_engine
    from strangler_messaging.schemas import SchemaRegistry

    engine = make_engine(NotificationsSettings.from_env().database_url)
    jobs = DeliveryJobs(make_broker(amqp_url()), engine, DeliverySettings.from_env())
    return notifications_consumer(engine, jobs.enqueue,
                                  SchemaRegistry.from_directory(EVENT_SCHEMAS.resolve()))


CONSUMERS: dict[str, ConsumerFactory] = {"catalog": _catalog, "monolith": _monolith,
                                         "notifications": _notifications}
