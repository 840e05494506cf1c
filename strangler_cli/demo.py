"""``strangler demo``: start the Shop on fresh data and walk a scripted tour of its API.

Every step states the status it expects; the tour exits non-zero if any answer differs, so the
demo doubles as a smoke test of a fresh clone.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import httpx
from sqlalchemy import MetaData

from strangler_cli.databases import DATABASES, upgrade
from strangler_messaging import define_outbox_table
from strangler_messaging.db import make_engine

Context = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Step:
    """One call of the tour; ``remember`` stores values later steps use."""

    title: str
    method: str
    path: Callable[[Context], str]
    expect: int
    body: Callable[[Context], Any] | None = None
    remember: Callable[[Context, Any], None] | None = None
    raw: bytes | None = None


def _tour() -> list[Step]:
    def first_product(ctx: Context, page: Any) -> None:
        ctx["product"] = page["items"][0]

    return [
        Step("List the first products", "GET", lambda c: "/api/products?per_page=3", 200,
             remember=first_product),
        Step("Search products by name", "GET", lambda c: "/api/products?q=lamp&per_page=2", 200),
        Step("Create a product", "POST", lambda c: "/api/products", 201,
             body=lambda c: {"sku": "TOUR-1", "name": "Tour Teapot", "price_cents": 2450,
                             "currency": "EUR", "description": "Made for the tour."},
             remember=lambda c, r: c.update(new=r)),
        Step("Change its price (partial update)", "PATCH",
             lambda c: f"/api/products/{c['new']['id']}", 200,
             body=lambda c: {"price_cents": 1999}),
        Step("Count its stock", "PUT", lambda c: "/api/inventory/TOUR-1", 200,
             body=lambda c: {"quantity": 3}),
        Step("Register a customer", "POST", lambda c: "/api/customers", 201,
             body=lambda c: {"email": "ada@example.com", "name": "Ada"},
             remember=lambda c, r: c.update(customer=r)),
        Step("Register the same email again", "POST", lambda c: "/api/customers", 409,
             body=lambda c: {"email": "ADA@example.com", "name": "Ada again"}),
        Step("Place an order (priced from the catalog, stock reserved)", "POST",
             lambda c: "/api/orders", 201,
             body=lambda c: {"customer_id": c["customer"]["id"], "lines": [
                 {"product_id": c["new"]["id"], "quantity": 2},
                 {"product_id": c["product"]["id"], "quantity": 1}]},
             remember=lambda c, r: c.update(order=r)),
        Step("Order more than is in stock", "POST", lambda c: "/api/orders", 409,
             body=lambda c: {"customer_id": c["customer"]["id"],
                             "lines": [{"product_id": c["new"]["id"], "quantity": 5}]}),
        Step("Read the stock after the reservation", "GET", lambda c: "/api/inventory/TOUR-1", 200),
        Step("Cancel the order (stock released)", "POST",
             lambda c: f"/api/orders/{c['order']['id']}/cancel", 200),
        Step("List the customer's notifications", "GET",
             lambda c: f"/api/notifications?customer_id={c['customer']['id']}", 200),
        Step("Send malformed JSON", "POST", lambda c: "/api/products", 400, raw=b'{"sku": '),
        Step("Send a price as a string", "POST", lambda c: "/api/products", 422,
             body=lambda c: {"sku": "BAD", "name": "Bad", "price_cents": "12",
                             "currency": "EUR"}),
    ]


def _summary(payload: Any) -> str:
    if not isinstance(payload, dict):
        return ""
    if "error" in payload:
        return f"{payload['error']['code']}: {payload['error']['message']}"
    if "items" in payload:
        return f"{len(payload['items'])} of {payload['total']}"
    keys = ("sku", "name", "email", "status", "quantity", "price_cents", "total_cents")
    return ", ".join(f"{k}={payload[k]}" for k in keys if k in payload)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _wait_ready(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise click.ClickException(f"the monolith exited; see {log}")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise click.ClickException(f"the monolith did not become ready; see {log}")


def _print_events(url: str, after: int) -> int:
    table = define_outbox_table(MetaData())
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(table.select().where(table.c.position > after)
                            .order_by(table.c.position)).all()
    engine.dispose()
    click.secho(f"\nEvents the tour wrote to the outbox ({len(rows)}):", bold=True)
    for row in rows:
        click.echo(f"  #{row.position:<4} {row.type:<40} seq={row.sequence:<3} "
                   f"{row.aggregatetype}:{row.aggregateid[:13]}")
    return len(rows)


@click.command()
@click.option("--port", default=8010, show_default=True, type=int, help="Monolith port.")
@click.option("--data-dir", default="var/demo", show_default=True, type=click.Path(),
              help="Where the demo's fresh database and logs go.")
def demo(port: int, data_dir: str) -> None:
    """Start the monolith on seeded data and walk a scripted tour of its API."""
    from legacy_monolith.app import build_shop
    from legacy_monolith.platform.settings import Settings
    from strangler_cli.seed import seed_shop

    root = Path(data_dir)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    url = f"sqlite:///{root / 'monolith.db'}"
    upgrade(DATABASES["monolith"], url)
    shop = build_shop(Settings(database_url=url))
    report = seed_shop(shop, products=20, customers=5)
    with shop.engine.connect() as conn:
        seeded = conn.scalar(define_outbox_table(MetaData()).select()
                             .with_only_columns(_max_position()))
    shop.engine.dispose()
    click.echo(f"Seeded {report.products} products and {report.customers} customers "
               f"({seeded} events) into {url}")

    if not _port_free(port):
        raise click.ClickException(f"port {port} is taken; pass --port")
    log = root / "monolith.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "strangler_cli", "run", "monolith", "--port", str(port)],
            env={**os.environ, "MONOLITH_DATABASE_URL": url}, stdout=out,
            stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    failures = 0
    try:
        _wait_ready(base_url, process, log)
        click.secho(f"Monolith up at {base_url} (log: {log})\n", bold=True)
        failures = _walk(base_url)
        _print_events(url, seeded or 0)
    finally:
        process.terminate()
        process.wait(15)
    if failures:
        raise click.ClickException(f"{failures} step(s) did not answer as expected")
    click.secho("\nTour complete: every step answered as expected.", fg="green", bold=True)


def _max_position() -> Any:
    from sqlalchemy import func

    return func.max(define_outbox_table(MetaData()).c.position)


def _walk(base_url: str) -> int:
    ctx: Context = {}
    failures = 0
    with httpx.Client(base_url=base_url, timeout=10) as client:
        for n, step in enumerate(_tour(), start=1):
            path = step.path(ctx)
            if step.raw is not None:
                response = client.request(step.method, path, content=step.raw,
                                          headers={"Content-Type": "application/json"})
            elif step.body is not None:
                response = client.request(step.method, path, json=step.body(ctx))
            else:
                response = client.request(step.method, path)
            payload = response.json() if response.content else None
            ok = response.status_code == step.expect
            failures += not ok
            mark = click.style("ok  ", fg="green") if ok else click.style("FAIL", fg="red")
            click.echo(f"{mark} {n:>2}. {step.title}")
            click.echo(f"         {step.method} {path} -> {response.status_code} "
                       f"{_summary(payload)}")
            if not ok:
                click.echo(f"         expected {step.expect}: {json.dumps(payload)[:300]}")
            elif step.remember is not None:
                step.remember(ctx, payload)
    return failures
