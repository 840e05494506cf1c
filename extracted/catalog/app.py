"""The composition root of the catalog service: settings in, a wired Flask application out.

Nothing here runs at import. :func:`create_app` builds the engine, the queries and the
blueprints (reads, and the writes fenced by write ownership); tests call it with their own
:class:`CatalogSettings` (and may hand in an engine).
"""

from __future__ import annotations

from flask import Flask
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from extracted.catalog.api import create_blueprint, register_catalog_errors
from extracted.catalog.queries import ProductQueries
from extracted.catalog.settings import CatalogSettings
from extracted.catalog.tables import outbox
from extracted.catalog.writes import ProductWrites
from strangler_http.observability import (
    OutboxCollector,
    health_blueprint,
    install_request_context,
)
from strangler_http.web import register_error_handlers
from strangler_messaging import OutboxStatus, outbox_status
from strangler_messaging.db import make_engine

__all__ = ["create_app"]


def create_app(settings: CatalogSettings | None = None, *, engine: Engine | None = None
               ) -> Flask:
    """Build the catalog service's Flask application."""
    settings = settings or CatalogSettings.from_env()
    engine = engine or make_engine(settings.database_url)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions["catalog_engine"] = engine

    registry = CollectorRegistry()
    registry.register(OutboxCollector("catalog", lambda: _read_outbox(engine)))
    install_request_context(app, registry, "catalog")
    register_error_handlers(app)
    register_catalog_errors(app)
    app.register_blueprint(health_blueprint(engine, registry))
    app.register_blueprint(create_blueprint(
        ProductQueries(engine), ProductWrites(engine, source=settings.event_source)))
    return app


def _read_outbox(engine: Engine) -> OutboxStatus:
    with engine.connect() as conn:
        return outbox_status(conn, outbox)
