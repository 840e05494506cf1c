"""The rehearsal itself: what ``strangler demo`` (``make demo``) runs.

Starts every component as a supervised local process on fresh SQLite databases under
``var/demo/`` (logs in ``var/log/``), seeds the Shop through the stable URL, and drives live
traffic at it while it walks the catalog extraction (backfill, shadow, contracts, canary 10 % and
50 %, extracted reads, write cutover with reverse sync, rollback drill, forward again) and the
notifications switch-over, with a live view. It ends with a summary table and exits 0 only if no
request failed, no event was lost and nothing drifted. Its RabbitMQ names are its own (an
exchange per run), removed at the end.
"""

from __future__ import annotations

import secrets
import shutil
import time
from pathlib import Path

import click
import httpx
import pika
from sqlalchemy import Engine, MetaData, func, select

from strangler_cli.databases import DATABASES, upgrade
from strangler_cli.rehearsal.processes import ProcessDied, Supervisor, free_port
from strangler_cli.rehearsal.traffic import Stats, Traffic
from strangler_cli.rehearsal.view import Gauges, LiveView, table
from strangler_cli.rehearsal.walk import CommandFailed, Operator, phases
from strangler_cli.settings import amqp_url
from strangler_messaging import define_outbox_table
from strangler_messaging.db import make_engine
from strangler_messaging.outbox import outbox_status
from strangler_messaging.topology import Topology

SEEDED = 40
SERVICES = ("monolith", "catalog", "notifications")
START_RABBITMQ = """RabbitMQ does not answer at {url}. The rehearsal needs one; start it with
  docker compose up -d rabbitmq                  (this repository's docker-compose.yml), or
  sudo apt-get install rabbitmq-server && sudo service rabbitmq-server start
and run `make demo` again (set AMQP_URL if it listens elsewhere)."""


def rehearse(phase_seconds: float, rate: float, workdir: Path) -> int:
    """Run the rehearsal; the exit status (0 passed, 1 failed, 2 no broker, 130 interrupted)."""
    url = amqp_url()
    if not _broker_answers(url):
        click.echo(START_RABBITMQ.format(url=url), err=True)
        return 2
    run_id = secrets.token_hex(4)
    data, logs = workdir / "demo", workdir / "log"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    logs.mkdir(parents=True, exist_ok=True)
    for old in logs.glob("*.log"):
        old.unlink()
    ports = {name: free_port() for name in (*SERVICES, "proxy", "admin", "smtp")}
    urls = {name: f"sqlite:///{(data / f'{name}.db').resolve()}"
            for name in (*SERVICES, "proxy")}
    exchange = f"demo-{run_id}.events"
    env = {**{DATABASES[name].env_var: db for name, db in urls.items()},
           "AMQP_URL": url, "STRANGLER_EVENTS_EXCHANGE": exchange,
           "NOTIFICATIONS_SEND_QUEUE": f"demo-{run_id}.send",
           "NOTIFICATIONS_SMTP_PORT": str(ports["smtp"]),
           "STRANGLER_ADMIN_URL": f"http://127.0.0.1:{ports['admin']}",
           "STRANGLER_ADMIN_TOKEN": secrets.token_urlsafe(16),
           **{f"STRANGLER_{name.upper()}_URL": f"http://127.0.0.1:{ports[name]}"
              for name in SERVICES}}
    supervisor = Supervisor(logs, env)
    started = time.monotonic()
    outcome = 1
    try:
        for name, db in urls.items():
            upgrade(DATABASES[name], db)
        base = _start(supervisor, ports, data)
        click.echo(f"the stable URL: {base}   (logs: {logs}/, databases: {data}/)")
        outcome = _rehearse(supervisor, base, env, urls, data, phase_seconds, rate, started)
    except (ProcessDied, CommandFailed) as exc:
        click.echo(f"\nthe rehearsal stopped: {exc}", err=True)
    except KeyboardInterrupt:
        click.echo("\ninterrupted; stopping every component", err=True)
        outcome = 130
    finally:
        supervisor.stop_all()
        _remove_topology(url, exchange, f"demo-{run_id}.send")
    return outcome


def _start(supervisor: Supervisor, ports: dict[str, int], data: Path) -> str:
    supervisor.start("smtp-sink", ["run", "smtp-sink", "--port", str(ports["smtp"]),
                                   "--maildir", str(data / "mail")], f"tcp:{ports['smtp']}")
    for name in SERVICES:
        supervisor.start(name, ["run", name, "--port", str(ports[name])],
                         f"http://127.0.0.1:{ports[name]}/readyz")
    supervisor.start("proxy", ["run", "proxy", "--port", str(ports["proxy"]), "--admin-port",
                               str(ports["admin"])], f"http://127.0.0.1:{ports['admin']}/healthz")
    for args in (("relay", "monolith"), ("relay", "catalog"), ("relay", "notifications"),
                 ("consumer", "catalog"), ("consumer", "monolith"),
                 ("consumer", "notifications"), ("worker", "notifications")):
        port = free_port()
        supervisor.start("-".join(args), ["run", *args, "--metrics-port", str(port)],
                         f"http://127.0.0.1:{port}/metrics")
    return f"http://127.0.0.1:{ports['proxy']}"


def _rehearse(supervisor: Supervisor, base: str, env: dict[str, str], urls: dict[str, str],
              data: Path, hold: float, rate: float, started: float) -> int:
    engines = {name: make_engine(db) for name, db in urls.items()}
    try:
        seeded, for_orders = _seed(base)
        stats = Stats()
        traffic = Traffic(base, seeded, for_orders, rate=rate, stats=stats)
        view = LiveView(stats, Gauges(lambda: _mismatches(engines["proxy"]),
                                      lambda: _pending(engines["monolith"])))
        operator = Operator(env)
        traffic.start()
        view.start()
        try:
            for phase in phases(operator, hold):
                view.phase = phase.name
                phase.act()
                _hold(supervisor, phase.hold)
        finally:
            view.phase = "settling"
            traffic.stop()
            view.stop()
        return _settle_and_report(supervisor, operator, stats, engines, env, data, started)
    finally:
        for engine in engines.values():
            engine.dispose()


def _settle_and_report(supervisor: Supervisor, operator: Operator, stats: Stats,
                       engines: dict[str, Engine], env: dict[str, str], data: Path,
                       started: float) -> int:
    deadline = time.monotonic() + 60
    while any(_pending(engines[name]) for name in SERVICES) and time.monotonic() < deadline:
        supervisor.check()
        time.sleep(0.5)
    operator.until_clean("catalog")
    notified = _wait_notified(engines, data, deadline=time.monotonic() + 60)
    differing = _written_differs(env, stats.written)
    relayed = {name: _published(engines[name]) for name in SERVICES}
    lost = sum(_pending(engines[name]) for name in SERVICES)
    total = stats.requests or 1
    rows = [
        ("duration", f"{time.monotonic() - started:.0f} s"),
        ("requests served", f"{stats.requests:,}"),
        ("requests failed", str(len(stats.failures))),
        *((f"answered by {name}", f"{count:,} ({count / total:.0%})")
          for name, count in sorted(stats.backends.items())),
        ("shadow mismatches", str(_mismatches(engines["proxy"]))),
        *((f"events relayed from {name}", f"{count:,}") for name, count in relayed.items()),
        ("events never relayed", str(lost)),
        ("catalog drift at the end", "none (strangler reconcile catalog exits 0)"),
        ("product writes on both sides", f"{len(stats.written) - len(differing)} of "
                                         f"{len(stats.written)} identical"),
        ("notifications (monolith / service)", f"{notified['monolith']} / "
                                               f"{notified['service']}"),
        ("causing events not notified", str(notified["missing"])),
        ("emails sent / duplicates", f"{notified['emails']} / {notified['duplicates']}"),
    ]
    click.echo("\n" + table(rows))
    for failure in stats.failures[:10]:
        click.echo(f"  failed: {failure}", err=True)
    for product_id in differing[:10]:
        click.echo(f"  differs between the sides: product {product_id}", err=True)
    clean = not (stats.failures or differing or lost or notified["missing"]
                 or notified["duplicates"] or notified["emails"] != notified["to_send"])
    click.echo("\nrehearsal " + ("passed: no failed request, no lost event, no drift"
                                 if clean else "FAILED (see above)"))
    return 0 if clean else 1


# -- the system's state ------------------------------------------------------------------------

_OUTBOX = define_outbox_table(MetaData())


def _pending(engine: Engine) -> int:
    with engine.connect() as conn:
        return outbox_status(conn, _OUTBOX).pending


def _published(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(_OUTBOX).where(
            _OUTBOX.c.published_at.is_not(None))) or 0)


def _mismatches(engine: Engine) -> int:
    from strangler_proxy.tables import mismatches

    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(mismatches)) or 0)


def _wait_notified(engines: dict[str, Engine], data: Path, deadline: float) -> dict[str, int]:
    from extracted.notifications.tables import notifications as service_notifications
    from legacy_monolith.notifications.models import Notification

    causes_query = select(_OUTBOX.c.id).where(_OUTBOX.c.type.in_((
        "customers.customer.registered.v1", "orders.order.placed.v1",
        "orders.order.cancelled.v1")))
    own = service_notifications.c.origin == "notifications"
    while True:
        with engines["monolith"].connect() as conn:
            causes = set(conn.scalars(causes_query))
            by_monolith = {str(v) for v in conn.scalars(select(Notification.source_event_id))}
        with engines["notifications"].connect() as conn:
            service = conn.execute(select(service_notifications.c.source_event_id,
                                          service_notifications.c.recipient).where(own)).all()
        by_service = {str(cause) for cause, _ in service}
        to_send = sum(1 for _, recipient in service if recipient)
        emails = _message_ids(data / "mail")
        settled = causes <= by_monolith | by_service and len(emails) >= to_send
        if settled or time.monotonic() > deadline:
            return {"monolith": len(by_monolith), "service": len(by_service), "to_send": to_send,
                    "missing": len(causes - by_monolith - by_service)
                    + len(by_monolith & by_service),
                    "emails": len(set(emails)), "duplicates": len(emails) - len(set(emails))}
        time.sleep(0.5)


def _message_ids(maildir: Path) -> list[str]:
    ids = []
    for path in maildir.glob("*.eml"):
        for line in path.read_text(errors="replace").splitlines():
            if line.lower().startswith("message-id:"):
                ids.append(line.split(":", 1)[1].strip())
                break
    return ids


def _written_differs(env: dict[str, str], written: dict[str, int]) -> list[str]:
    """The products whose last written price is not what both sides show."""
    differing = []
    with httpx.Client(timeout=10, trust_env=False) as http:
        for product_id, price in written.items():
            for side in ("MONOLITH", "CATALOG"):
                answer = http.get(f"{env[f'STRANGLER_{side}_URL']}/api/products/{product_id}")
                if answer.status_code != 200 or answer.json()["price_cents"] != price:
                    differing.append(product_id)
                    break
    return differing


# -- helpers ------------------------------------------------------------------------------------

def _seed(base: str) -> tuple[list[str], str]:
    with httpx.Client(base_url=base, timeout=15, trust_env=False) as http:
        seeded = [_created(http.post("/api/products", json={
            "sku": f"SEED-{n:03d}", "name": f"Seeded product {n}", "description": "seed",
            "price_cents": 100 + n, "currency": "EUR"})) for n in range(SEEDED)]
        tea = _created(http.post("/api/products", json={
            "sku": "TEA-1", "name": "Tea for the shoppers", "price_cents": 350,
            "currency": "EUR"}))
        if http.put("/api/inventory/TEA-1", json={"quantity": 1_000_000}).status_code != 200:
            raise CommandFailed("could not stock the shoppers' product")
    return seeded, tea


def _created(response: httpx.Response) -> str:
    if response.status_code != 201:
        raise CommandFailed(f"seeding failed: {response.status_code} {response.text[:200]}")
    return str(response.json()["id"])


def _hold(supervisor: Supervisor, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        supervisor.check()
        time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))


def _broker_answers(url: str) -> bool:
    params = pika.URLParameters(url)
    params.socket_timeout = params.blocked_connection_timeout = 3
    params.connection_attempts = 1
    try:
        pika.BlockingConnection(params).close()
    except (OSError, pika.exceptions.AMQPError):
        return False
    return True


def _remove_topology(url: str, exchange: str, send_queue: str) -> None:
    """Delete the run's queues and exchanges (best effort: the rehearsal's result stands)."""
    try:
        connection = pika.BlockingConnection(pika.URLParameters(url))
    except (pika.exceptions.AMQPError, OSError):
        return
    try:
        channel = connection.channel()
        Topology(exchange=exchange).delete(channel, ["catalog", "monolith", "notifications"])
        for queue in (send_queue, f"{send_queue}.DQ", f"{send_queue}.XQ"):
            channel.queue_delete(queue)
    except pika.exceptions.AMQPError:
        pass
    finally:
        if connection.is_open:
            connection.close()

