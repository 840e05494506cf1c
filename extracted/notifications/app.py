"""The composition root of the notifications service's HTTP side.

Nothing runs at import. The consumer (``strangler run consumer notifications``) and the
delivery worker (``strangler run worker notifications``) are wired in the CLI; this app only
serves the read route, the health endpoints and the metrics.
"""

from __future__ import annotations

from flask import Flask
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from extracted.notifications.api import create_blueprint
from extracted.notifications.settings import NotificationsSettings
from extracted.notifications.tables import outbox
from strangler_http.observability import (
    OutboxCollector,
    health_blueprint,
    install_request_context,
)
from strangler_http.web import register_error_handlers
from strangler_messaging import OutboxStatus, outbox_status
from strangler_messaging.db import make_engine

__all__ = ["create_app"]


def create_app(settings: NotificationsSettings | None = None, *,
               engine: Engine | None = None) -> Flask:
    """Build the notifications service's Flask application."""
    settings = settings or NotificationsSettings.from_env()
    engine = engine or make_engine(settings.database_url)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    registry = CollectorRegistry()
    registry.register(OutboxCollector("notifications", lambda: _read_outbox(engine)))
    install_request_context(app, registry, "notifications")
    register_error_handlers(app)
    app.register_blueprint(health_blueprint(engine, registry))
    app.register_blueprint(create_blueprint(engine))
    return app


def _read_outbox(engine: Engine) -> OutboxStatus:
    with engine.connect() as conn:
        return outbox_status(conn, outbox)
