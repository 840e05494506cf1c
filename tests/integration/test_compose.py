"""docker-compose.yml, the Dockerfile and their helpers under docker/, checked without Docker.

No Docker engine runs where these tests do, so nothing here starts a container. What can be
checked is: the compose file against the Compose Specification's JSON schema (a copy in
docker/compose-spec.json), its shape (start order, healthchecks, profiles), and above all that
it agrees with the code: every ``strangler`` command and option it runs exists in the click
tree, every variable it sets is one the component reads, every variable the component needs in
a container is set, every URL names a service, a port it listens on and a database the init
script creates, and the ports published are the ones the CLI listens on. The Dockerfile's
install is checked for what the image relies on (constraints pin every runtime dependency, no
dev extras, a non-root user, ``strangler`` as the entrypoint).
"""

from __future__ import annotations

import inspect
import json
import os
import re
import socket
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from fnmatch import fnmatch
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import click
import jsonschema
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from prometheus_client import CollectorRegistry
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from extracted.catalog.settings import CatalogSettings
from extracted.notifications.delivery import DeliverySettings
from extracted.notifications.settings import NotificationsSettings
from legacy_monolith.platform.settings import Settings as MonolithSettings
from strangler_cli.consumers import CONSUMERS
from strangler_cli.databases import DATABASES
from strangler_cli.main import cli
from strangler_cli.settings import amqp_url, topology
from strangler_cli.smtp_sink import SmtpSink
from strangler_contracts.broker import Broker
from strangler_messaging.db import normalize_url
from strangler_proxy.backends import KNOWN_BACKENDS, backends_from_env, env_var
from strangler_proxy.supervisor import run_proxy
from strangler_proxy.worker import DataPlaneSettings

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
INIT_SQL_DIR = REPO / "docker" / "postgres"
SCHEMA = REPO / "docker" / "compose-spec.json"
IMAGE_TAG = "strangler-fig-reference:local"

# The fixed interface points of the product: default ports of the components.
DEFAULT_PORTS = {"proxy": {8000, 8001}, "monolith": {8010}, "catalog": {8020},
                 "notifications": {8030}}
ONE_SHOT = "no"


# --- reading the compose file the way Compose does ------------------------------------------------

def interpolate(value: str, environ: Mapping[str, str] | None = None) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}`` and ``$$``, with the
    variables of ``environ`` (none: every variable unset, what `make up` gets by default)."""
    env = environ or {}

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name, operator, default = match["name"], match["op"], match["default"] or ""
        if operator == ":-":
            return env.get(name) or default
        if operator == "-":
            return env.get(name, default)
        if name not in env:
            raise AssertionError(f"${{{name}}} has no default: `make up` would need it set")
        return env[name]

    pattern = r"(?P<escaped>\$\$)|\$\{(?P<name>\w+)(?:(?P<op>:?-)(?P<default>[^}]*))?\}"
    return re.sub(pattern, substitute, value)


def _interpolated(node: Any) -> Any:
    if isinstance(node, str):
        return interpolate(node)
    if isinstance(node, list):
        return [_interpolated(item) for item in node]
    if isinstance(node, dict):
        return {key: _interpolated(value) for key, value in node.items()}
    return node


@cache
def raw_compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(document, dict)
    return document


@cache
def compose() -> dict[str, Any]:
    """The compose file with anchors and merge keys resolved and variables at their defaults."""
    return _interpolated(raw_compose())  # type: ignore[no-any-return]


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]  # type: ignore[no-any-return]


def strangler_services() -> dict[str, dict[str, Any]]:
    """The services running the project's image (whose entrypoint is ``strangler``)."""
    return {name: s for name, s in services().items() if "build" in s}


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the KEY=VALUE list form
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def long_running(service: dict[str, Any]) -> bool:
    return service.get("restart") != ONE_SHOT


# --- reading the CLI ------------------------------------------------------------------------------

def resolve(args: list[str]) -> tuple[tuple[str, ...], click.Command, click.Context]:
    """The click command ``strangler ARGS`` runs, and ARGS parsed by it (nothing is invoked).

    Parsing raises for an unknown command or option and for a value a ``Choice`` refuses."""
    command: click.Command = cli
    path: list[str] = []
    rest = list(args)
    while isinstance(command, click.Group):
        assert rest, f"`strangler {' '.join(args)}` stops at the group {command.name}"
        name = rest.pop(0)
        sub = command.commands.get(name)
        assert sub is not None, (f"`strangler {' '.join(args)}`: {command.name or 'strangler'} "
                                 f"has no command {name!r} (has {sorted(command.commands)})")
        command, path = sub, [*path, name]
    context = command.make_context(" ".join(["strangler", *path]), rest)
    return tuple(path), command, context


def listeners(service: dict[str, Any]) -> dict[int, str]:
    """Port -> bind address of every TCP listener the service's command opens."""
    _, command, context = resolve(service["command"])
    params = context.params
    found: dict[int, str] = {}
    if "port" in params:
        found[params["port"]] = params["host"]
    if "admin_port" in params:
        found[params["admin_port"]] = params["admin_host"]
    if params.get("metrics_port"):
        found[params["metrics_port"]] = "0.0.0.0" if command.name != "worker" else "127.0.0.1"
    return found


# --- what the code reads --------------------------------------------------------------------------

def names_read(function: Any, prefix: str = "") -> set[str]:
    """The environment variable names a function reads with ``....get("NAME")``."""
    return {prefix + name for name in
            re.findall(r"\bget\(\s*\"([A-Z][A-Z0-9_]*)\"", inspect.getsource(function))}


def database_var(name: str) -> str:
    return DATABASES[name].env_var


@cache
def component_reads() -> dict[str, tuple[set[str], set[str]]]:
    """Per component: (every variable it reads, the ones a container must set).

    A container must set what has a loopback or SQLite default: database URLs, the broker,
    the backends, the SMTP server; and what the component refuses to start without."""
    messaging = names_read(amqp_url) | names_read(topology)
    assert messaging == {"AMQP_URL", "STRANGLER_EVENTS_EXCHANGE"}
    delivery_source = inspect.getsource(DeliverySettings.from_env)
    assert 'f"NOTIFICATIONS_{name}"' in delivery_source  # the prefix names_read() is given
    delivery = names_read(DeliverySettings.from_env, "NOTIFICATIONS_")
    monolith = names_read(MonolithSettings.from_env)
    catalog = names_read(CatalogSettings.from_env)
    notifications = names_read(NotificationsSettings.from_env)
    backends = {env_var(name) for name in KNOWN_BACKENDS}
    outboxes = {db.env_var for db in DATABASES.values() if db.has_outbox}
    proxy = (names_read(run_proxy) | names_read(DataPlaneSettings.from_env) | backends
             | outboxes)
    broker = names_read(Broker.from_env)
    every_database = {db.env_var for db in DATABASES.values()}
    amqp = {"AMQP_URL"}
    table = {
        "db upgrade all": (every_database, every_database),
        "run monolith": (monolith, {database_var("monolith")}),
        "run catalog": (catalog, {database_var("catalog")}),
        "run notifications": (notifications, {database_var("notifications")}),
        "run proxy": (proxy, {database_var("proxy"), "STRANGLER_ADMIN_TOKEN", *backends}),
        "run consumer catalog": (catalog | messaging, {database_var("catalog"), *amqp}),
        "run consumer monolith": (monolith | messaging, {database_var("monolith"), *amqp}),
        "run consumer notifications": (notifications | delivery | messaging,
                                       {database_var("notifications"), *amqp}),
        "run worker notifications": (
            {database_var("notifications"), *amqp} | delivery,
            {database_var("notifications"), *amqp, "NOTIFICATIONS_SMTP_HOST",
             "NOTIFICATIONS_SMTP_PORT"}),
        "run smtp-sink": (set(), set()),
        "contracts verify": ({database_var("proxy")} | broker,
                             {database_var("proxy"), "PACT_BROKER_BASE_URL"}),
    }
    for name, database in DATABASES.items():
        if database.has_outbox:
            table[f"run relay {name}"] = ({database.env_var} | messaging,
                                          {database.env_var, *amqp})
    return table


def component(service: dict[str, Any]) -> str:
    """The key of :func:`component_reads` for a service: its command without options."""
    path, command, context = resolve(service["command"])
    arguments = [str(context.params[p.name]) for p in command.params
                 if isinstance(p, click.Argument) and p.name]
    return " ".join([*path, *arguments])


# --- the compose file as a document ---------------------------------------------------------------

def test_the_compose_file_follows_the_compose_specification_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(compose()), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                                 for e in errors)
    assert "version" not in raw_compose(), "the Compose Specification has no `version:` key"
    # The schema is not a rubber stamp: a depends_on condition Compose does not know fails it.
    broken = json.loads(json.dumps(compose()))
    broken["services"]["monolith"]["depends_on"]["migrate"]["condition"] = "service_done"
    assert not validator.is_valid(broken)


def test_every_service_has_an_image_and_the_long_running_ones_a_healthcheck() -> None:
    for name, service in services().items():
        assert "image" in service, name
        assert isinstance(service.get("command", []), list), f"{name}: command as a list"
        if long_running(service):
            assert service.get("restart") == "unless-stopped", name
            test = service.get("healthcheck", {}).get("test")
            assert isinstance(test, list) and test[0] == "CMD", f"{name}: CMD healthcheck"
        else:
            assert "healthcheck" not in service and "ports" not in service, name
    for name, service in strangler_services().items():
        assert service["build"] == {"context": "."}, name
        assert service["image"] == IMAGE_TAG, f"{name}: one image for every component"
        assert service.get("init") is True, f"{name}: an init reaps and forwards signals"


def test_depends_on_names_services_with_the_state_it_waits_for() -> None:
    known = services()
    for name, service in known.items():
        depends_on = service.get("depends_on") or {}
        assert isinstance(depends_on, dict), f"{name}: depends_on with conditions"
        for target, spec in depends_on.items():
            assert target in known, f"{name} depends on the unknown service {target}"
            condition = spec["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in known[target], f"{name} waits for {target}'s health"
            elif condition == "service_completed_successfully":
                assert not long_running(known[target]), f"{target} never completes"
            else:
                pytest.fail(f"{name} -> {target}: {condition} orders nothing useful here")
            if not known[name].get("profiles"):
                assert not known[target].get("profiles"), (
                    f"{name} runs by default but depends on {target}, which is in a profile")
    # no cycle: Compose could start nothing
    order: list[str] = []
    remaining = dict.fromkeys(known)
    while remaining:
        ready = [n for n in remaining if all(d in order for d in known[n].get("depends_on", {}))]
        assert ready, f"depends_on has a cycle among {sorted(remaining)}"
        order.extend(ready)
        for n in ready:
            del remaining[n]


def test_components_wait_for_migrated_databases_and_a_healthy_broker() -> None:
    for name, service in strangler_services().items():
        depends_on = service.get("depends_on") or {}
        env = environment(service)
        uses_database = any(v.endswith("_DATABASE_URL") for v in env)
        if name == "migrate":
            assert depends_on == {"postgres": {"condition": "service_healthy"}}
        elif uses_database:
            assert depends_on.get("migrate") == {
                "condition": "service_completed_successfully"}, name
        if "AMQP_URL" in env:
            assert depends_on.get("rabbitmq") == {"condition": "service_healthy"}, name


# --- the compose file against the CLI -------------------------------------------------------------

def test_every_strangler_command_and_option_exists_in_the_cli() -> None:
    for name, service in strangler_services().items():
        args = [str(a) for a in service["command"]]
        try:
            path, command, _ = resolve(args)
        except click.ClickException as exc:
            pytest.fail(f"{name}: `strangler {' '.join(args)}`: {exc.format_message()}")
        options = {opt for param in command.params for opt in param.opts + param.secondary_opts}
        for arg in args:
            if arg.startswith("-"):
                assert arg in options, f"{name}: {' '.join(path)} has no option {arg}"
        if path == ("run", "consumer"):  # a plain argument, checked when it runs
            assert args[2] in CONSUMERS, f"{name}: no consumer {args[2]!r}"


def test_the_stack_runs_every_component_of_the_product() -> None:
    running = {component(s) for s in strangler_services().values()}
    outboxes = sorted(n for n, d in DATABASES.items() if d.has_outbox)
    expected = {"db upgrade all", "run monolith", "run catalog", "run notifications",
                "run proxy", "run worker notifications", "run smtp-sink", "contracts verify",
                *(f"run relay {n}" for n in outboxes),
                *(f"run consumer {n}" for n in CONSUMERS)}
    assert running == expected


def test_published_ports_are_the_ports_the_cli_listens_on() -> None:
    for name, service in strangler_services().items():
        listening = listeners(service)
        assert all(1024 <= port < 65536 for port in listening), name
        published = set()
        for mapping in service.get("ports", []):
            parts = str(mapping).split(":")
            assert len(parts) == 3, f"{name}: publish as 127.0.0.1:PORT:PORT, not {mapping}"
            host_ip, host_port, target = parts
            assert host_ip == "127.0.0.1", f"{name}: publish on the host's loopback only"
            assert host_port == target, f"{name}: same port inside and out ({mapping})"
            assert int(target) in listening, f"{name} listens on {sorted(listening)}, not {target}"
            assert listening[int(target)] == "0.0.0.0", (
                f"{name}: port {target} is bound to {listening[int(target)]}, unreachable "
                f"from outside the container")
            published.add(int(target))
        if name in DEFAULT_PORTS:
            assert published == DEFAULT_PORTS[name], name
            assert set(listening) >= DEFAULT_PORTS[name], name
        # Every HTTP/SMTP listener is reachable by the other containers.
        _, _, context = resolve(service["command"])
        for option in ("host", "admin_host"):
            if option in context.params:
                assert context.params[option] == "0.0.0.0", f"{name}: --{option} 0.0.0.0"


def test_the_infrastructure_ports_and_volumes() -> None:
    known = services()
    assert known["rabbitmq"]["image"].startswith("rabbitmq:3-management")
    assert "127.0.0.1:15672:15672" in known["rabbitmq"]["ports"]
    broker_port = environment(known["pact-broker"])["PACT_BROKER_PORT"]
    assert known["pact-broker"]["ports"] == [f"127.0.0.1:{broker_port}:{broker_port}"]
    declared = set(compose().get("volumes") or {})
    for name, service in known.items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            if source.startswith("."):
                assert (REPO / source).exists(), f"{name}: {source} is missing"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"
    sink = known["smtp-sink"]
    maildir = str(resolve(sink["command"])[2].params["maildir"])
    assert any(str(v).endswith(f":{maildir}") for v in sink["volumes"]), "mail on a volume"


# --- the compose file against the settings the code reads -----------------------------------------

def test_every_variable_set_is_read_and_every_one_needed_is_set() -> None:
    table = component_reads()
    for name, service in strangler_services().items():
        key = component(service)
        assert key in table, f"{name}: no known settings for `strangler {key}`"
        reads, needs = table[key]
        env = set(environment(service))
        assert env <= reads, f"{name} sets {sorted(env - reads)}, which {key} never reads"
        assert needs <= env, f"{name} leaves {sorted(needs - env)} at a loopback default"


def test_database_urls_name_the_databases_the_init_script_creates() -> None:
    created: list[str] = []
    for script in sorted(INIT_SQL_DIR.glob("*.sql")):
        created += re.findall(r"^\s*CREATE DATABASE\s+(\w+)\s*;", script.read_text(),
                              flags=re.MULTILINE | re.IGNORECASE)
    assert sorted(created) == sorted(DATABASES), "one database per deployable, no more"
    postgres = services()["postgres"]
    credentials = environment(postgres)
    assert any(str(v).endswith(":/docker-entrypoint-initdb.d:ro") and str(v).startswith(
        "./docker/postgres") for v in postgres["volumes"])
    named: set[str] = set()
    by_var = {db.env_var: name for name, db in DATABASES.items()}
    for name, service in strangler_services().items():
        for variable, value in environment(service).items():
            if variable not in by_var:
                continue
            url = make_url(value)
            assert url.drivername == "postgresql+psycopg", f"{name}: psycopg 3, as the code"
            assert normalize_url(value) == value
            assert (url.host, url.port) == ("postgres", 5432), f"{name}: {variable}"
            assert url.username == credentials["POSTGRES_USER"], f"{name}: {variable}"
            assert url.password == credentials["POSTGRES_PASSWORD"], f"{name}: {variable}"
            assert url.database == by_var[variable], f"{name}: {variable} -> {url.database}"
            named.add(url.database)
    assert named == set(created)


def test_the_amqp_url_reaches_the_rabbitmq_service_as_its_user() -> None:
    rabbitmq = environment(services()["rabbitmq"])
    urls = {environment(s)["AMQP_URL"] for s in strangler_services().values()
            if "AMQP_URL" in environment(s)}
    assert len(urls) == 1, urls
    parts = urlsplit(urls.pop())
    assert parts.scheme == "amqp" and (parts.hostname, parts.port) == ("rabbitmq", 5672)
    assert (parts.username, parts.password) == (rabbitmq["RABBITMQ_DEFAULT_USER"],
                                                rabbitmq["RABBITMQ_DEFAULT_PASS"])
    assert unquote(parts.path[1:]) == "/", "the default vhost"


def test_the_proxy_reaches_every_backend_on_its_listening_port() -> None:
    known = strangler_services()
    proxy = known["proxy"]
    env = environment(proxy)
    backends = backends_from_env(env)  # the proxy's own validation of the URLs
    for name, backend in backends.items():
        parts = urlsplit(backend.url)
        assert parts.hostname == name and parts.hostname in known, name
        assert parts.port in listeners(known[name]), f"{name} does not listen on {parts.port}"
        assert proxy["depends_on"][name] == {"condition": "service_healthy"}
    # The admin API listens beyond loopback, which the proxy allows only with a token.
    assert listeners(proxy)[8001] == "0.0.0.0"
    assert env["STRANGLER_ADMIN_TOKEN"].strip(), "a token, or the proxy refuses to start"
    assert "--dev" not in proxy["command"]
    raw = raw_compose()["services"]["proxy"]["environment"]["STRANGLER_ADMIN_TOKEN"]
    assert raw.startswith("${STRANGLER_ADMIN_TOKEN:-"), "overridable from the environment"
    assert interpolate(raw, {"STRANGLER_ADMIN_TOKEN": "s3cret"}) == "s3cret"
    assert interpolate(raw, {"STRANGLER_ADMIN_TOKEN": ""}) == env["STRANGLER_ADMIN_TOKEN"]


def test_the_worker_sends_to_the_smtp_sink() -> None:
    known = strangler_services()
    env = environment(known["worker-notifications"])
    settings = DeliverySettings.from_env(env)  # the worker's own parsing and validation
    assert settings.smtp_host == "smtp-sink"
    assert settings.smtp_port in listeners(known["smtp-sink"])
    assert known["worker-notifications"]["depends_on"]["smtp-sink"] == {
        "condition": "service_healthy"}
    # the consumer enqueues on the queue the worker consumes
    consumer = DeliverySettings.from_env(environment(known["consumer-notifications"]))
    assert consumer.queue_name == settings.queue_name


def test_the_broker_profile_publishes_to_its_own_broker() -> None:
    known = services()
    profiled = {n for n, s in known.items() if s.get("profiles")}
    assert profiled == {"pact-broker", "pact-broker-db", "contracts"}
    assert all(known[n]["profiles"] == ["broker"] for n in profiled)
    broker_env = environment(known["pact-broker"])
    database = make_url(broker_env["PACT_BROKER_DATABASE_URL"])
    db_env = environment(known["pact-broker-db"])
    assert database.host == "pact-broker-db"
    assert (database.username, database.password, database.database) == (
        db_env["POSTGRES_USER"], db_env["POSTGRES_PASSWORD"], db_env["POSTGRES_DB"])
    contracts = environment(known["contracts"])
    broker = Broker.from_env("main", contracts)
    assert broker is not None
    parts = urlsplit(broker.url)
    assert (parts.hostname, str(parts.port)) == ("pact-broker", broker_env["PACT_BROKER_PORT"])
    assert (broker.username, broker.password) == (broker_env["PACT_BROKER_BASIC_AUTH_USERNAME"],
                                                  broker_env["PACT_BROKER_BASIC_AUTH_PASSWORD"])
    assert broker_env["PACT_BROKER_PUBLIC_HEARTBEAT"] == "true", "its healthcheck has no login"


# --- healthchecks ---------------------------------------------------------------------------------

def healthcheck_code(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"] and len(test) == 4, test
    return str(test[3])


def test_healthchecks_probe_the_components_own_listeners() -> None:
    for name, service in strangler_services().items():
        if not long_running(service):
            continue
        code = healthcheck_code(service)
        compile(code, f"<{name} healthcheck>", "exec")
        assert "curl" not in code and "wget" not in code, "the slim image has neither"
        listening = listeners(service)
        probed = {int(p) for p in re.findall(r"127\.0\.0\.1'?,? ?:?(\d{4,5})", code)}
        assert probed, f"{name}: the healthcheck probes no port"
        assert probed <= set(listening), f"{name} probes {probed}, listens on {listening}"
        for path in re.findall(r"http://127\.0\.0\.1:\d+(/[\w/]*)", code):
            assert path in {"/readyz", "/healthz", "/metrics"}, f"{name}: {path}"
    infra = services()
    postgres = infra["postgres"]["healthcheck"]["test"]
    assert postgres[1] == "pg_isready" and postgres[postgres.index("-h") + 1] == "127.0.0.1"
    assert postgres[postgres.index("-U") + 1] == environment(infra["postgres"])["POSTGRES_USER"]
    assert infra["rabbitmq"]["healthcheck"]["test"] == [
        "CMD", "rabbitmq-diagnostics", "-q", "ping"]


def test_the_http_healthcheck_routes_answer_without_credentials(tmp_path: Path) -> None:
    from extracted.catalog.app import create_app as catalog_app
    from extracted.notifications.app import create_app as notifications_app
    from legacy_monolith.app import create_app as monolith_app
    from strangler_proxy.admin import create_admin_app
    from strangler_proxy.control import RouteControl
    from strangler_proxy.gate import VerificationStore
    from strangler_proxy.runtime import MetricsRuntime
    from strangler_proxy.store import RouteStore

    apps = {
        "monolith": monolith_app(MonolithSettings(database_url=f"sqlite:///{tmp_path}/m.db")),
        "catalog": catalog_app(CatalogSettings(database_url=f"sqlite:///{tmp_path}/c.db")),
        "notifications": notifications_app(
            NotificationsSettings(database_url=f"sqlite:///{tmp_path}/n.db")),
    }
    engine = create_engine(f"sqlite:///{tmp_path}/p.db")
    backends = backends_from_env(environment(services()["proxy"]))
    apps["proxy"] = create_admin_app(
        RouteControl(RouteStore(engine, backends), VerificationStore(engine)),
        MetricsRuntime(CollectorRegistry(), list(backends)), token="the-token",
        backends=backends)
    for name, app in apps.items():
        for path in re.findall(r"http://127\.0\.0\.1:\d+(/\w+)",
                               healthcheck_code(services()[name])):
            response = app.test_client().get(path)  # no Authorization header
            assert response.status_code == 200, f"{name} {path}: {response.status_code}"
    engine.dispose()


@contextmanager
def http_server(status: list[int]) -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status[0])
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def run_healthcheck(code: str, port_from: int, port_to: int) -> int:
    code = code.replace(f"127.0.0.1:{port_from}", f"127.0.0.1:{port_to}").replace(
        f"('127.0.0.1', {port_from})", f"('127.0.0.1', {port_to})")
    return subprocess.run([sys.executable, "-c", code], capture_output=True,
                          timeout=30).returncode


def test_an_http_healthcheck_fails_on_an_unready_answer() -> None:
    code = healthcheck_code(services()["monolith"])
    status = [200]
    with http_server(status) as port:
        assert run_healthcheck(code, 8010, port) == 0
        status[0] = 503  # what /readyz answers while the database does not
        assert run_healthcheck(code, 8010, port) != 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_smtp_healthcheck_passes_on_a_real_sink_and_fails_without_one() -> None:
    code = healthcheck_code(services()["smtp-sink"])
    port = free_port()
    assert run_healthcheck(code, 8025, port) != 0  # nothing listens yet
    with SmtpSink("127.0.0.1", port):
        assert run_healthcheck(code, 8025, port) == 0


# --- the image ------------------------------------------------------------------------------------

def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def test_the_dockerfile_installs_the_runtime_as_a_non_root_user() -> None:
    steps = dockerfile_instructions()
    keywords = [k for k, _ in steps]
    base = steps[0]
    assert base[0] == "FROM" and re.fullmatch(r"python:3\.1[12]-slim(-\w+)?", base[1]), base
    user = keywords.index("USER")
    assert steps[user][1] not in ("root", "0", "0:0")
    installs = [i for i, (k, v) in enumerate(steps) if k == "RUN" and "pip install" in v]
    assert installs and all(i > user for i in installs), "pip runs as the unprivileged user"
    for i in installs:
        assert "-c constraints.txt" in steps[i][1], steps[i][1]
        assert "[dev]" not in steps[i][1] and ".[" not in steps[i][1], "no dev extras"
    copy_all = next(i for i, (k, v) in enumerate(steps) if k == "COPY" and " . " in f"{v} ")
    assert installs[0] < copy_all < installs[-1], "dependencies cached apart from the sources"
    first_copy = next(v for k, v in steps if k == "COPY")
    assert "pyproject.toml" in first_copy and "constraints.txt" in first_copy
    assert ("ENTRYPOINT", '["strangler"]') in steps
    exposed = {int(p) for k, v in steps if k == "EXPOSE" for p in v.split()}
    published = {int(str(m).split(":")[-1]) for s in strangler_services().values()
                 for m in s.get("ports", [])}
    assert published <= exposed
    sink = strangler_services()["smtp-sink"]
    maildir = str(resolve(sink["command"])[2].params["maildir"])
    assert any(k == "RUN" and "install -d -o strangler" in v and maildir in v
               for k, v in steps), "the sink's maildir belongs to the user the image runs as"


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Whether the build context leaves ``path`` out (the last matching pattern decides)."""
    ignored = False
    parts = path.split("/")
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!")
        glob = pattern.removeprefix("**/")
        if any(fnmatch(c, pattern) or (glob != pattern and fnmatch(c.split("/")[-1], glob))
               for c in candidates):
            ignored = not negated
    return ignored


def test_the_build_context_keeps_the_sources_and_leaves_local_state_out() -> None:
    patterns = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for path in (".venv/bin/python", "var/monolith.db", ".git/HEAD", ".pytest_cache/x",
                 ".mypy_cache/x", ".ruff_cache/x", "strangler_cli/__pycache__/run.pyc",
                 "strangler_fig_reference.egg-info/PKG-INFO", "docker/postgres/01.sql"):
        assert dockerignored(path, patterns), path
    needed = ["pyproject.toml", "constraints.txt", "README.md", "docker/requirements.py",
              "migrations/monolith/env.py", "contracts/events", "contracts/pacts"]
    needed += [f"{package.rstrip('*')}/__init__.py" for package in tomllib.loads(
        (REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"][
        "include"]]
    for path in needed:
        assert not dockerignored(path, patterns), path


def pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_the_requirements_helper_prints_the_runtime_dependencies_only() -> None:
    result = subprocess.run([sys.executable, str(REPO / "docker" / "requirements.py"),
                             str(REPO / "pyproject.toml")], capture_output=True, text=True,
                            check=True, timeout=60)
    printed = result.stdout.split("\n")
    project = pyproject()["project"]
    assert [line for line in printed if line] == project["dependencies"]
    dev = {canonicalize_name(Requirement(r).name)
           for r in project["optional-dependencies"]["dev"]}
    assert not dev & {canonicalize_name(Requirement(r).name) for r in printed if r}


def pins() -> dict[str, str]:
    pinned: dict[str, str] = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not a pin"
            pinned[canonicalize_name(name)] = version.strip()
    return pinned


def test_constraints_pin_every_runtime_dependency_the_image_installs() -> None:
    """What `pip install -c constraints.txt` installs in the image is exactly what is pinned:
    every runtime dependency, transitively, for this interpreter on Linux (the image's)."""
    pinned = pins()
    seen: set[str] = set()
    queue = [Requirement(r) for r in pyproject()["project"]["dependencies"]]
    while queue:
        requirement = queue.pop()
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement} is not pinned in constraints.txt"
        version = metadata.version(requirement.name)
        assert version == pinned[name], f"{name}: {version} installed, {pinned[name]} pinned"
        assert requirement.specifier.contains(version, prereleases=True), (
            f"the pin {name}=={version} does not satisfy {requirement}")
        key = f"{name}[{','.join(sorted(requirement.extras))}]"
        if key in seen:
            continue
        seen.add(key)
        for spec in metadata.requires(requirement.name) or []:
            dependency = Requirement(spec)
            environments = [{"extra": extra} for extra in requirement.extras] or [{"extra": ""}]
            if dependency.marker is None or any(
                    dependency.marker.evaluate({**e, "sys_platform": "linux",
                                                "platform_system": "Linux"})
                    for e in environments):
                queue.append(dependency)
    assert len({k.split("[")[0] for k in seen}) > len(pyproject()["project"]["dependencies"])


# --- the Makefile ---------------------------------------

@pytest.mark.parametrize(("target", "expected"), [
    ("up", "docker compose up -d --build"),
    ("down", "docker compose --profile broker down"),
])
def test_make_up_and_down_need_docker_only(target: str, expected: str) -> None:
    # Under `make test` the parent make's variables would make this one print directories.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    result = subprocess.run(["make", "--no-print-directory", "-n", target], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == expected
