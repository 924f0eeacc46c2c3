"""The production profile's parts that run without starting it: configuration, the generated
nginx configuration, the production endpoints, the env example, the production portal's
/healthz, its spool drainer, and chat while the database is unreachable."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import socket
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app_context import AppContext
from ops.config import StackConfig
from ops.portal_app import create_production_app, drain_forever
from ops.stack import processes, rasa_env, render_nginx
from schools_portal.app import SESSION_COOKIE
from settings import ROOT, Settings, SettingsError

EXAMPLE = ROOT / "deploy" / "production.env.example"


def example_env() -> dict[str, str]:
    env = {}
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name.strip()] = value.strip()
    return env


def test_the_example_as_shipped_is_refused() -> None:
    with pytest.raises(SettingsError, match="placeholder"):
        Settings.from_env(example_env())


def test_the_example_with_real_secrets_is_a_valid_layout() -> None:
    env = {
        **example_env(),
        "SECRET_KEY": secrets.token_urlsafe(32),
        "ACTION_SERVER_TOKEN": secrets.token_urlsafe(32),
        "CHANNEL_SECRET": secrets.token_urlsafe(32),
        "REDIS_URL": f"redis://:{secrets.token_urlsafe(24)}@127.0.0.1:6379/3",
    }
    settings = Settings.from_env(env)
    config = StackConfig.from_env(env)
    assert settings.is_production and settings.database_url.startswith("postgresql")
    assert config.rasa_replicas == 2 and config.action_replicas == 2
    assert config.rasa_ports() == [5101, 5102]


@pytest.mark.parametrize(
    "name, value",
    [
        ("TRACKER_DATABASE_URL", "sqlite:///rasa.db"),
        ("TRACKER_DATABASE_URL", "postgresql://u@h:5432/"),
        ("REDIS_URL", "http://127.0.0.1:6379/3"),
        ("RASA_REPLICAS", "0"),
        ("RASA_REPLICAS", "two"),
    ],
)
def test_bad_layouts_are_refused(name: str, value: str) -> None:
    with pytest.raises(SettingsError):
        StackConfig.from_env({name: value})


@pytest.mark.parametrize(
    "change, refused",
    [
        ({"CHANNEL_SECRET": "change-me"}, True),
        ({"CHANNEL_SECRET": "s" * 64}, True),  # long, but not random
        ({"CHANNEL_SECRET": secrets.token_urlsafe(24)}, True),  # 24 bytes: too few
        ({"REDIS_URL": ""}, True),  # replicas could not share the channel's nonces
        ({"REDIS_URL": "redis://127.0.0.1:6379/3"}, True),  # any local account could use it
        ({"REDIS_URL": "redis://:change-me@127.0.0.1:6379/3"}, True),  # the example's
        ({}, False),
    ],
)
def test_production_needs_a_strong_channel_secret_and_shared_nonces(change, refused) -> None:
    env = {**example_env(), "SECRET_KEY": secrets.token_urlsafe(32),
           "ACTION_SERVER_TOKEN": secrets.token_urlsafe(32),
           "CHANNEL_SECRET": secrets.token_urlsafe(32),
           "REDIS_URL": f"redis://:{secrets.token_urlsafe(24)}@127.0.0.1:6379/3"} | change
    if refused:
        with pytest.raises(SettingsError, match="CHANNEL_SECRET|REDIS_URL"):
            Settings.from_env(env)
    else:
        assert Settings.from_env(env).channel_secret == env["CHANNEL_SECRET"]


@pytest.mark.parametrize("host", ["0.0.0.0", "203.0.113.7", "app-1.example.org"])  # noqa: S104
def test_rasa_and_the_action_servers_never_listen_on_a_public_address(host: str) -> None:
    with pytest.raises(SettingsError, match="BIND_HOST"):
        StackConfig.from_env({"BIND_HOST": host})


def test_nginx_exposes_only_the_portal_beyond_the_private_network(tmp_path: Path) -> None:
    config = StackConfig.from_env({"BIND_HOST": "10.0.0.4", "PUBLIC_HOST": "203.0.113.7",
                                   "PROD_RUN_DIR": str(tmp_path)})
    servers = render_nginx(config).split("    server {")[1:]
    by_port = {re.search(r"listen ([^;\s]+)", s).group(1): s for s in servers}
    assert set(by_port) == {"10.0.0.4:5080", "10.0.0.4:5081", "203.0.113.7:8080"}
    for internal in ("10.0.0.4:5080", "10.0.0.4:5081"):
        assert "allow 10.0.0.0/8;" in by_port[internal] and "deny all;" in by_port[internal]
    assert "deny all;" not in by_port["203.0.113.7:8080"]


def test_every_rasa_replica_shares_the_nonce_store() -> None:
    config = StackConfig.from_env({"REDIS_URL": "redis://cache.internal:6380/5"})
    env = rasa_env(config, Settings(action_server_token="x" * 20))
    assert env["REDIS_URL"] == "redis://cache.internal:6380/5"


def test_store_variables_are_split_from_the_urls() -> None:
    config = StackConfig.from_env(
        {
            "TRACKER_DATABASE_URL": "postgresql://rasa:p%40ss@db.internal:6543/trackers",
            "REDIS_URL": "redis://:s3cret@cache.internal:6380/5",
        }
    )
    env = config.rasa_store_env()
    assert env["RASA_TRACKER_DB_HOST"] == "db.internal:6543"
    assert env["RASA_TRACKER_DB_NAME"] == "trackers"
    assert env["RASA_TRACKER_DB_USER"] == "rasa"
    assert env["RASA_TRACKER_DB_PASSWORD"] == "p@ss"
    assert (env["RASA_REDIS_HOST"], env["RASA_REDIS_PORT"], env["RASA_REDIS_DB"]) == (
        "cache.internal", "6380", "5"
    )  # fmt: skip
    assert env["RASA_REDIS_PASSWORD"] == "s3cret"


def test_every_endpoint_variable_is_provided_and_substitutable() -> None:
    """Rasa substitutes ${VAR} in plain YAML scalars only, and fails on an unset one."""
    text = (ROOT / "bot" / "endpoints.production.yml").read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{([A-Z_]+)\}", text))
    assert used, "the production endpoints should come from the environment"
    assert not re.search(r"""["']\$\{""", text), "a quoted ${VAR} is not substituted by Rasa"
    config = StackConfig.from_env({})
    provided = set(rasa_env(config, Settings(action_server_token="x" * 20)))
    assert used <= provided, f"not provided: {sorted(used - provided)}"


def test_nginx_config_lists_every_replica_and_is_valid(tmp_path: Path) -> None:
    config = StackConfig.from_env({"RASA_REPLICAS": "3", "PROD_RUN_DIR": str(tmp_path)})
    text = render_nginx(config)
    assert "@@" not in text
    for port in (*config.rasa_ports(), *config.actions_ports(), *config.portal_ports()):
        assert f"server 127.0.0.1:{port} " in text
    remote = StackConfig.from_env({"RASA_UPSTREAMS": "10.0.0.5:5101 10.0.0.6:5101"})
    assert "server 10.0.0.5:5101 " in render_nginx(remote)
    if shutil.which("nginx") is None:
        pytest.skip("nginx is not installed (make prod installs it)")
    from ops.stack import write_nginx

    path = write_nginx(config)
    result = subprocess.run(
        ["nginx", "-t", "-c", str(path), "-p", str(tmp_path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


class _Upstream(BaseHTTPRequestHandler):
    """An upstream that answers a POST with the length of the body it received, a GET with ok."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self._answer(str(len(self.rfile.read(int(self.headers["Content-Length"])))).encode())

    def do_GET(self) -> None:  # noqa: N802
        self._answer(b"ok")

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _real_nginx(*, umask: int = 0o022):
    """The production nginx template, rendered and run, in front of one `_Upstream`."""
    if shutil.which("nginx") is None:
        pytest.skip("nginx is not installed (scripts/ensure_nginx.sh installs it)")
    from ops.stack import write_nginx

    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    run_dir = f"var/test-nginx-{uuid.uuid4().hex[:8]}"
    target = f"127.0.0.1:{upstream.server_address[1]}"
    listeners = ("LB_RASA_PORT", "LB_ACTIONS_PORT", "LB_PORTAL_PORT")
    ports = {name: str(_free_port()) for name in listeners}
    config = StackConfig.from_env(
        {"PROD_RUN_DIR": run_dir, "ACTIONS_UPSTREAMS": target, "RASA_UPSTREAMS": target,
         "PORTAL_UPSTREAMS": target, **ports}
    )  # fmt: skip
    old_umask = os.umask(umask)
    try:
        path = write_nginx(config)
    finally:
        os.umask(old_umask)
    nginx = subprocess.Popen(
        ["nginx", "-c", str(path), "-p", str(config.run_dir), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                url = f"http://127.0.0.1:{config.lb_actions_port}/nginx-health"
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert nginx.poll() is None, nginx.stderr.read().decode()
                time.sleep(0.1)
        yield config, nginx
    finally:
        if nginx.poll() is None:
            nginx.terminate()
            nginx.wait(timeout=10)
        upstream.shutdown()
        shutil.rmtree(config.run_dir, ignore_errors=True)


def test_nginx_passes_a_long_tracker_to_an_action_server_under_umask_077() -> None:
    """Rasa posts a conversation's whole tracker to the action servers. Started by root under a
    umask of 077 (as `make prod` once left it), nginx's workers could not spool such a body and
    answered 500 for every action of a long conversation."""
    with _real_nginx(umask=0o077) as (config, _):
        for directory in (config.run_dir / "nginx-tmp", config.run_dir, config.run_dir.parent):
            assert directory.stat().st_mode & 0o111 == 0o111, f"{directory} is closed to nginx"
        base = f"http://127.0.0.1:{config.lb_actions_port}"
        tracker = b'{"events": [' + b'{"event": "user", "text": "a long conversation"},' * 6000
        response = httpx.post(f"{base}/webhook", content=tracker, timeout=10)
        assert response.status_code == 200, (config.run_dir / "nginx-error.log").read_text()
        assert response.text == str(len(tracker))


def test_nginx_logs_the_path_but_no_query_string_or_referrer() -> None:
    """A guidance search (`?q=...`) may describe a child: production's access log is nginx's."""
    with _real_nginx() as (config, nginx):
        base = f"https://127.0.0.1:{config.lb_portal_port}"  # the make-prod certificate
        words = "bruise+on+baby+Amelia+Hargreaves"
        response = httpx.get(  # the test's own self-signed certificate, on loopback
            f"{base}/guidance/search?q={words}", timeout=5, verify=False,  # noqa: S501
            headers={"Referer": f"{base}/guidance/search?q={words}"})
        assert response.status_code == 200
        nginx.terminate()  # flushes the buffered log
        nginx.wait(timeout=10)
        log = (config.run_dir / "nginx-access.log").read_text(encoding="utf-8")
    assert "GET /guidance/search HTTP/1.1\" 200" in log
    assert "Amelia" not in log and "q=" not in log


def test_every_process_has_a_health_check() -> None:
    procs = processes(StackConfig.from_env({}), Settings(action_server_token="x" * 20))
    kinds = {p.name.split("-")[0] for p in procs}
    assert kinds == {"actions", "rasa", "portal", "dispatcher", "nginx"}
    assert all(p.health_url for p in procs)


# -- the production portal ----------------------------------------------------------------------
@pytest.fixture()
def portal(demo_db_url: str, guidance_engine, tmp_path: Path):
    settings = Settings(
        environment="test", database_url=demo_db_url, var_dir=tmp_path,
        rasa_url="http://127.0.0.1:9", secret_key="ops-test-secret-key-not-for-production",
    )  # fmt: skip
    context = AppContext.build(settings, guidance=guidance_engine)
    app = create_production_app(settings)
    app.state.context = context  # as the lifespan would
    yield app, context, tmp_path / "app.db"
    context.close()


def take_database_away(context: AppContext, path: Path) -> None:
    """Make the SQLite file unopenable (a directory in its place): an outage, as the app sees
    it (OperationalError on connect)."""
    context.db.dispose()
    for suffix in ("", "-wal", "-shm"):
        part = Path(f"{path}{suffix}")
        if part.exists():
            part.rename(f"{part}.away")
    path.mkdir()


def bring_database_back(context: AppContext, path: Path) -> None:
    path.rmdir()
    for suffix in ("", "-wal", "-shm"):
        away = Path(f"{path}{suffix}.away")
        if away.exists():
            away.rename(f"{path}{suffix}")
    context.db.dispose()


def test_healthz_reports_the_database(portal) -> None:
    app, context, path = portal
    client = TestClient(app)
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok", "spooled": 0,
                                             "refused": 0}
    take_database_away(context, path)
    try:
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.json()["database"] == "down"
    finally:
        bring_database_back(context, path)
    assert client.get("/healthz").status_code == 200


def test_chat_during_a_database_outage_shows_safety_and_the_drainer_raises_it(
    portal, portal_sign_in
) -> None:
    app, context, path = portal
    client = TestClient(app)
    csrf = portal_sign_in(client, "oakfield_dsl")
    take_database_away(context, path)
    try:
        response = client.post(
            "/api/chat",
            json={"text": "a pupil told me her stepdad hit her last night"},
            headers={"X-CSRF-Token": csrf},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["urgency"] == "immediate"
        assert body["safety_message"] and "999" in " ".join(m["text"] for m in body["messages"])
        assert body["escalation_reference"] is None  # could not be written: spooled
        assert len(list(context.relay.spool.pending())) == 1
    finally:
        bring_database_back(context, path)
    stop = threading.Event()
    drainer = threading.Thread(target=drain_forever, args=(app, stop), daemon=True)
    drainer.start()
    try:
        deadline = 15.0
        while list(context.relay.spool.pending()) and deadline > 0:
            stop.wait(0.2)
            deadline -= 0.2
    finally:
        stop.set()
    assert list(context.relay.spool.pending()) == [], "the drainer did not raise the escalation"
    with context.sessions() as session:
        from sqlalchemy import func, select

        from mash.models import Escalation

        assert session.execute(select(func.count(Escalation.id))).scalar_one() == 1


def test_an_outage_uses_the_session_this_process_checked_or_fails_closed(
    portal, portal_sign_in
) -> None:
    """While the database is down, a session this process checked (server-side sessions keep
    the identity from sign-in) stands in for the directory; any other cookie is not guessed."""
    app, context, path = portal
    client = TestClient(app, raise_server_exceptions=False)
    portal_sign_in(client, "oakfield_dsl")
    me = client.get("/api/me").json()
    take_database_away(context, path)
    try:
        during = client.get("/api/me")
        assert during.status_code == 200
        assert (during.json()["user_id"], during.json()["role"]) == (me["user_id"], "dsl")
        stranger = TestClient(app, raise_server_exceptions=False)
        stranger.cookies.set(SESSION_COOKIE, secrets.token_urlsafe(32))  # a made-up session
        assert stranger.get("/api/me").status_code == 401
    finally:
        bring_database_back(context, path)
