"""``strangler services`` and ``strangler status``: the backends and where the migration stands,
as the proxy's admin API sees them (same environment and exit codes as ``strangler routes``).
"""

from __future__ import annotations

import json
from typing import Any

import click

from strangler_cli.routes import AdminClient, json_option, print_table, share


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.2f}%"


@click.command("services")
@json_option
def services(as_json: bool) -> None:
    """Every backend: its URL, whether /healthz answers 200 (1 s timeout), its breaker."""
    doc = AdminClient.from_env().json("GET", "/admin/services")
    if as_json:
        click.echo(json.dumps(doc, indent=2))
        return
    print_table(("NAME", "URL", "HEALTH", "LATENCY", "BREAKER"),
                [(s["name"], s["url"], "ok" if s["healthy"] else f"DOWN ({s['error']})",
                  None if s["latency_ms"] is None else f"{s['latency_ms']} ms", s["breaker"])
                 for s in doc["services"]])


@click.command("status")
@json_option
def status(as_json: bool) -> None:
    """Where the migration stands: routes per mode, traffic split, error and mismatch rates
    per route, breakers and outbox lag."""
    doc = AdminClient.from_env().json("GET", "/admin/status")
    if as_json:
        click.echo(json.dumps(doc, indent=2))
        return
    modes = ", ".join(f"{mode} {count}" for mode, count in doc["routes_per_mode"].items())
    traffic = doc["traffic"]
    click.echo(f"route table version {doc['table_version']}: {modes}")
    click.echo(f"requests {traffic['requests']} ({traffic['other_requests']} of no route), "
               f"errors {_percent(traffic['error_rate'])}, answered by services "
               f"{_percent(traffic['service_share'])}")
    if doc["routes"]:
        click.echo("")
        print_table(("ROUTE", "MODE", "SERVICE", "CONFIGURED", "REQUESTS", "ERRORS",
                     "TO SERVICE", "MISMATCHES"),
                    [_route_row(r) for r in doc["routes"]])
    click.echo("")
    breakers = doc["breakers"]
    click.echo("breakers: " + (", ".join(f"{name} {state}" for name, state in breakers.items())
                               or "none reported"))
    click.echo("outbox lag: " + _lag(doc))


def _route_row(route: dict[str, Any]) -> tuple[Any, ...]:
    mismatches = (f"{route['mismatches']}/{route['shadowed']} "
                  f"({_percent(route['mismatch_rate'])})" if route["shadowed"] else "-")
    return (route["id"], route["mode"], route["service"], share(route), route["requests"],
            _percent(route["error_rate"]), _percent(route["service_share"])
            if route["requests"] else "-", mismatches)


def _lag(doc: dict[str, Any]) -> str:
    if doc["outbox_lag_error"]:
        return f"unavailable ({doc['outbox_lag_error']})"
    lag = doc["outbox_lag_seconds"]
    if lag is None:
        return "not reported"
    return ", ".join(f"{name} {seconds:.2f} s" for name, seconds in lag.items()) or "no outboxes"
