"""``strangler routes``: read and flip route flags through the proxy's admin API.

Every command talks HTTP to ``STRANGLER_ADMIN_URL`` (default http://127.0.0.1:8001) with the
token in ``STRANGLER_ADMIN_TOKEN``. Exit codes: 0 done, 1 the admin API answered with an
error, 2 bad usage, 3 the admin API does not answer, 4 the contract gate refused the change.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import IO, Any
from urllib.parse import quote

import click
import httpx

DEFAULT_ADMIN_URL = "http://127.0.0.1:8001"
EXIT_ERROR, EXIT_UNREACHABLE, EXIT_REFUSED = 1, 3, 4
MODES = ("legacy", "shadow", "canary", "extracted")


class AdminError(click.ClickException):
    """The admin API answered with an error."""

    exit_code = EXIT_ERROR


class AdminUnreachable(AdminError):
    """The admin API did not answer."""

    exit_code = EXIT_UNREACHABLE


class GateRefusedError(AdminError):
    """The contract gate refused the change."""

    exit_code = EXIT_REFUSED


class AdminClient:
    """The admin API over HTTP, for one command."""

    def __init__(self, base_url: str, token: str | None, actor: str | None = None,
                 timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"X-Strangler-Source": "cli", "User-Agent": "strangler-cli"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        if actor:
            self._headers["X-Strangler-Actor"] = actor
        self._timeout = timeout

    @classmethod
    def from_env(cls, actor: str | None = None) -> AdminClient:
        """``STRANGLER_ADMIN_URL`` and ``STRANGLER_ADMIN_TOKEN``."""
        return cls(os.environ.get("STRANGLER_ADMIN_URL") or DEFAULT_ADMIN_URL,
                   os.environ.get("STRANGLER_ADMIN_TOKEN") or None, actor)

    def call(self, method: str, path: str, *, missing_ok: bool = False,
             headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response | None:
        """Send one request; a 4xx/5xx becomes :class:`AdminError` with the server's message
        (a 404 becomes None when ``missing_ok``)."""
        try:
            response = httpx.request(method, self.base_url + path,
                                     headers={**self._headers, **(headers or {})},
                                     timeout=self._timeout, trust_env=False, **kwargs)
        except httpx.TimeoutException as exc:
            raise AdminUnreachable(f"the admin API at {self.base_url} did not answer in "
                                   f"{self._timeout:g} s ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise AdminUnreachable(
                f"the admin API does not answer at {self.base_url} ({exc}). Is the proxy "
                "running (`strangler run proxy`)? Set STRANGLER_ADMIN_URL if it listens "
                "elsewhere.") from exc
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code >= 400:
            code, message = _error_of(response)
            detail = f"{message} ({code}, HTTP {response.status_code})"
            if code == "gate_refused":
                raise GateRefusedError(f"the contract gate refused: {detail}. --force with a "
                                       "--reason overrides it (audited).")
            raise AdminError(detail)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON document the endpoint answers."""
        response = self.call(method, path, **kwargs)
        assert response is not None
        return response.json()


def _error_of(response: httpx.Response) -> tuple[str, str]:
    try:
        error = response.json()["error"]
        return str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        return f"http_{response.status_code}", response.text.strip()[:200] or "no details"


def route_path(route_id: str) -> str:
    """The admin URL path of a route."""
    return f"/admin/routes/{quote(route_id, safe='')}"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Columns padded to their widest cell."""
    cells = [[str(h) for h in headers], *[["-" if c is None else str(c) for c in r] for r in rows]]
    widths = [max(len(row[n]) for row in cells) for n in range(len(headers))]
    for row in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def share(route: dict[str, Any]) -> str:
    """The share of user traffic the route's service answers, in percent."""
    mode = route["mode"]
    if mode == "canary":
        return f"{route['percent_bps'] / 100:.2f}%"
    return {"legacy": "-", "shadow": "0% (mirrored)", "extracted": "100%"}.get(mode, "?")


def _describe(route: dict[str, Any] | None) -> str:
    if route is None:
        return "(none)"
    target = f" {route['service']} {share(route)}" if route["mode"] != "legacy" else ""
    return f"{route['mode']}{target}"


def _plain(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "(none)"
    return json.dumps(value) if value is None or isinstance(value, bool) else str(value)


def _emit(as_json: bool, payload: Any, human: str) -> None:
    click.echo(json.dumps(payload, indent=2) if as_json else human)


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
reason_option = click.option("--reason", required=True,
                             help="Why (audited with the change; required).")
actor_option = click.option("--actor", default=lambda: os.environ.get("USER") or "cli",
                            show_default="$USER", help="Who is making the change (audited).")


@click.group()
def routes() -> None:
    """Read and change the proxy's route flags (through the admin API).

    Env: STRANGLER_ADMIN_URL (default http://127.0.0.1:8001), STRANGLER_ADMIN_TOKEN.
    Exit codes: 1 the admin API refused or failed, 3 it does not answer, 4 the contract gate
    refused the change.
    """


@routes.command("list")
@json_option
def list_routes(as_json: bool) -> None:
    """Every route: what it matches and who answers it."""
    doc = AdminClient.from_env().json("GET", "/admin/routes")
    if as_json:
        _emit(True, doc, "")
        return
    click.echo(f"table version {doc['table_version']}; requests no route matches go to "
               f"{doc['default_backend']}")
    print_table(("ID", "METHODS", "PATH", "MODE", "SERVICE", "TO SERVICE", "STICKY KEY",
                 "FALLBACK"),
                [(r["id"], ",".join(r["methods"]), r["path"], r["mode"], r["service"],
                  share(r), r["sticky_key"], r["fallback"]) for r in doc["routes"]])


@routes.command("show")
@click.argument("route_id")
@json_option
def show_route(route_id: str, as_json: bool) -> None:
    """One route in full."""
    doc = AdminClient.from_env().json("GET", route_path(route_id))
    route = doc["route"]
    lines = [f"{key}: {_plain(value)}" for key, value in route.items() if key != "shadow"]
    lines += [f"shadow.{key}: {_plain(value)}" for key, value in route["shadow"].items()]
    _emit(as_json, doc, "\n".join([*lines, f"(table version {doc['table_version']})"]))


@routes.command("set")
@click.argument("route_id")
@click.option("--methods", help="Comma-separated, e.g. GET,HEAD (required for a new route).")
@click.option("--path", help="Template, e.g. /api/products/{id} (required for a new route).")
@click.option("--mode", type=click.Choice(MODES), help="Who answers.")
@click.option("--service", help="The extracted service (catalog, notifications).")
@click.option("--percent", type=click.FloatRange(0, 100),
              help="Canary share in percent, 0-100 with at most two decimals.")
@click.option("--sticky-key", help="header:<name>, cookie:<name> or client.")
@click.option("--fallback", type=click.Choice(("safe", "never")),
              help="Retry failed service requests on legacy when safe, or never.")
@reason_option
@click.option("--force", is_flag=True, help="Override a contract-gate refusal (audited).")
@actor_option
@json_option
def set_route(route_id: str, methods: str | None, path: str | None, mode: str | None,
              service: str | None, percent: float | None, sticky_key: str | None,
              fallback: str | None, reason: str, force: bool, actor: str,
              as_json: bool) -> None:
    """Create ROUTE_ID or change only the given fields of it.

    Example: strangler routes set products-read --mode canary --service catalog
    --percent 10 --sticky-key header:X-Customer-ID --reason "canary after shadow was clean"
    """
    client = AdminClient.from_env(actor)
    found = client.call("GET", route_path(route_id), missing_ok=True)
    doc: dict[str, Any] = found.json()["route"] if found is not None else {"id": route_id}
    if found is None and (methods is None or path is None):
        raise click.UsageError(f"route {route_id} does not exist yet: give --methods and --path")
    if methods is not None:
        doc["methods"] = [m.strip().upper() for m in methods.split(",") if m.strip()]
    if path is not None:
        doc["path"] = path
    if mode is not None:
        doc["mode"] = mode
        if mode == "legacy":
            doc["service"], doc["percent_bps"] = None, 0
        elif mode == "extracted":
            doc["percent_bps"] = 10_000
    if service is not None:
        doc["service"] = service
    if percent is not None:
        doc["percent_bps"] = basis_points(percent)
    if sticky_key is not None:
        doc["sticky_key"] = sticky_key
    if fallback is not None:
        doc["fallback"] = fallback
    result = client.json("PUT", route_path(route_id),
                         json={**doc, "reason": reason, "force": force, "actor": actor})
    _emit(as_json, result, _applied_line(route_id, result))


def basis_points(percent: float) -> int:
    """10.5 (percent) -> 1050; refuses more precision than a basis point."""
    bps = round(percent * 100)
    if abs(percent * 100 - bps) > 1e-6:
        raise click.BadParameter(f"{percent} has more than two decimals (1 basis point is "
                                 "0.01%)", param_hint="--percent")
    return bps


def _applied_line(route_id: str, result: dict[str, Any]) -> str:
    version = f"(table version {result['table_version']})"
    if not result["changed"]:
        return f"{route_id} unchanged {version}"
    line = f"{route_id}: {_describe(result['route'])} {version}"
    if result["route"] is None:
        line = f"{route_id} removed: its requests go to the legacy backend {version}"
    if result["forced"]:
        line += f"\nFORCED past the contract gate (audited): {result['gate']['reason']}"
    return line


@routes.command("delete")
@click.argument("route_id")
@reason_option
@actor_option
@json_option
def delete_route(route_id: str, reason: str, actor: str, as_json: bool) -> None:
    """Remove ROUTE_ID: its requests go back to the legacy backend."""
    result = AdminClient.from_env(actor).json("DELETE", route_path(route_id),
                                              json={"reason": reason, "actor": actor})
    _emit(as_json, result, _applied_line(route_id, result))


@routes.command("rollback")
@click.argument("route_id")
@reason_option
@click.option("--force", is_flag=True,
              help="Override the gate if rolling back sends more traffic to a service.")
@actor_option
@json_option
def rollback(route_id: str, reason: str, force: bool, actor: str, as_json: bool) -> None:
    """Undo ROUTE_ID's last change (twice: redo it)."""
    result = AdminClient.from_env(actor).json(
        "POST", route_path(route_id) + "/rollback",
        json={"reason": reason, "force": force, "actor": actor})
    _emit(as_json, result, "rolled back: " + _applied_line(route_id, result))


@routes.command("history")
@click.option("--route", "route_id", help="Only this route's entries.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@json_option
def history(route_id: str | None, limit: int, as_json: bool) -> None:
    """The audit trail, newest first: who changed what, when, why (refusals included)."""
    params: dict[str, Any] = {"limit": limit, **({"route_id": route_id} if route_id else {})}
    doc = AdminClient.from_env().json("GET", "/admin/history", params=params)
    if as_json:
        _emit(True, doc, "")
        return
    print_table(("#", "AT", "ACTOR", "SOURCE", "ACTION", "ROUTE", "CHANGE", "VERSION", "REASON"),
                [(e["id"], e["at"], e["actor"], e["source"],
                  e["action"] + (" (forced)" if e["forced"] else ""), e["route_id"],
                  "-" if e["table_version"] is None
                  else f"{_describe(e['before'])} -> {_describe(e['after'])}",
                  e["table_version"], e["reason"]) for e in doc["items"]])


@routes.command("export")
@click.option("-o", "--output", type=click.File("w"), default="-", show_default=True,
              help="File to write the YAML to.")
def export(output: IO[str]) -> None:
    """The whole route table as YAML (a top-level routes: list), for review or import."""
    response = AdminClient.from_env().call("GET", "/admin/export")
    assert response is not None
    output.write(response.text)


@routes.command("import")
@click.argument("source", type=click.File("r"))
@reason_option
@click.option("--force", is_flag=True, help="Override contract-gate refusals (audited).")
@actor_option
@json_option
def import_table(source: IO[str], reason: str, force: bool, actor: str, as_json: bool) -> None:
    """Replace the whole table with SOURCE's (a YAML file, - for stdin), atomically.

    Routes missing from SOURCE are removed; every difference is audited. An invalid file or
    a gate refusal changes nothing.
    """
    result = AdminClient.from_env(actor).json(
        "POST", "/admin/import", content=source.read().encode(),
        headers={"Content-Type": "application/yaml"},
        params={"reason": reason, "force": "true" if force else "false"})
    changed = result["set"] or result["removed"]
    human = (f"set {', '.join(result['set']) or 'none'}; removed "
             f"{', '.join(result['removed']) or 'none'}" if changed else "nothing changed")
    _emit(as_json, result, f"{human} (table version {result['table_version']})"
          + ("\nFORCED past the contract gate (audited)" if result["forced"] else ""))
