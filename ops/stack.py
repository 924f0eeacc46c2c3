"""The production profile on one machine: every process, its health check, and a supervisor
that restarts whatever dies (what systemd's Restart=always does on a real deployment).

`python -m ops up` runs the supervisor in the foreground; Ctrl-C (or SIGTERM) stops it all.
It writes `<run_dir>/pids.json` on every (re)start, so tools and the reliability suite can see
which process is which.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from chat.signing import WEBHOOK_PATH
from ops.config import PRIVATE_NETWORKS, StackConfig
from private_files import open_private, private_dir, private_file, tighten
from settings import ROOT, Settings

log = logging.getLogger("ops.stack")

TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
ENDPOINTS = ROOT / "bot" / "endpoints.production.yml"
CREDENTIALS = ROOT / "bot" / "credentials.yml"
STOP_GRACE_SECONDS = 10.0
MAX_RESTART_DELAY = 10.0


def render_nginx(config: StackConfig, template: Path = TEMPLATE) -> str:
    def servers(ports: list[int], remote: tuple[str, ...]) -> str:
        addresses = remote or tuple(f"{config.bind_host}:{port}" for port in ports)
        return "\n".join(
            f"        server {address} max_fails=1 fail_timeout=5s;" for address in addresses
        )

    cert, key = config.tls_paths()
    values = {
        "RUN_DIR": str(config.run_dir),
        "TLS_CERT": str(cert),
        "TLS_KEY": str(key),
        "BIND_HOST": config.bind_host,
        "PUBLIC_HOST": config.portal_host,
        "PRIVATE_ALLOW": "\n".join(f"        allow {net};" for net in PRIVATE_NETWORKS),
        "LB_RASA_PORT": str(config.lb_rasa_port),
        "LB_ACTIONS_PORT": str(config.lb_actions_port),
        "LB_PORTAL_PORT": str(config.lb_portal_port),
        "RASA_SERVERS": servers(config.rasa_ports(), config.rasa_upstreams),
        "ACTIONS_SERVERS": servers(config.actions_ports(), config.actions_upstreams),
        "PORTAL_SERVERS": servers(config.portal_ports(), config.portal_upstreams),
    }
    text = template.read_text(encoding="utf-8")
    for name, value in values.items():
        text = text.replace(f"@@{name}@@", value)
    if "@@" in text:
        raise ValueError(f"{template}: a placeholder was left unfilled")
    return text


def ensure_tls(config: StackConfig) -> None:
    """Without TLS_CERT/TLS_KEY: a self-signed certificate for loopback use (made once)."""
    cert, key = config.tls_paths()
    if cert.exists() and key.exists():
        return
    if config.tls_cert:
        raise FileNotFoundError(f"TLS_CERT/TLS_KEY name missing files: {cert}, {key}")
    private_dir(cert.parent)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    tighten(key)
    tighten(cert)


def write_nginx(config: StackConfig, path: Path | None = None) -> Path:
    path = path or config.run_dir / "nginx.conf"
    private_dir(config.run_dir)
    private_dir(path.parent, tighten_existing=False)  # may be /etc/nginx/conf.d (--out)
    # nginx's own logs (its master opens them, as root or as us) are private like ours.
    for name in ("nginx-error.log", "nginx-access.log"):
        private_file(config.run_dir / name)
    open_nginx_temp(config.run_dir / "nginx-tmp")
    ensure_tls(config)
    with open_private(path) as handle:
        handle.write(render_nginx(config))
    return path


def open_nginx_temp(temp: Path) -> None:
    """Make nginx's temp directory reachable by its workers.

    Started as root, nginx runs its workers as an unprivileged user (`nobody`), which spools a
    large request body (a long conversation's tracker on its way to an action server) under this
    directory. Under a umask of 077 (or private_files.private_dir's 0700) the directories above
    it would be closed to that user and every such request would fail with 500. So the
    directories from here up to the project (or up to the run directory's parent, outside it)
    get the traverse bits (0711 for a private one); never read bits.
    """
    private_dir(temp)
    temp = temp.resolve()
    top = ROOT.resolve() if temp.is_relative_to(ROOT.resolve()) else temp.parent.parent
    for directory in (temp, *temp.parents):
        mode = directory.stat().st_mode
        if mode & 0o111 != 0o111 and directory.stat().st_uid == os.getuid():
            directory.chmod((mode | 0o111) & 0o7777)
        if directory == top:
            break


@dataclass
class Process:
    name: str
    argv: list[str]
    health_url: str | None
    env: dict[str, str] = field(default_factory=dict)
    popen: subprocess.Popen | None = None
    restarts: int = 0
    next_start: float = 0.0

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None


def rasa_env(config: StackConfig, settings: Settings) -> dict[str, str]:
    threads = str(config.rasa_tf_threads)
    return {
        **config.rasa_store_env(),
        "ACTION_SERVER_URL": config.actions_lb_url,
        "ACTION_SERVER_TOKEN": settings.action_server_token,
        # The signed channel's nonces, shared by every replica (a replay to another replica
        # is refused too).
        "REDIS_URL": config.redis_url,
        "TF_INTRA_OP_PARALLELISM_THREADS": threads,
        "TF_INTER_OP_PARALLELISM_THREADS": threads,
        "OMP_NUM_THREADS": threads,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        # No telemetry or crash reports to Rasa's servers from a safeguarding deployment.
        "RASA_TELEMETRY_ENABLED": "false",
        # Rasa's tracker-store pool (default 50 per replica) must fit PostgreSQL's 100.
        "SQL_POOL_SIZE": os.environ.get("SQL_POOL_SIZE", "5"),
        "SQL_MAX_OVERFLOW": os.environ.get("SQL_MAX_OVERFLOW", "10"),
    }


def rasa_argv(config: StackConfig, port: int) -> list[str]:
    rasa = str(Path(sys.executable).with_name("rasa"))
    return [
        rasa, "run", "-m", config.rasa_model, "--endpoints", str(ENDPOINTS),
        "--credentials", str(CREDENTIALS), "-i", config.bind_host, "-p", str(port),
    ]  # fmt: skip


def processes(config: StackConfig, settings: Settings) -> list[Process]:
    """Every process of the profile, in start order."""
    py = sys.executable
    host = config.bind_host
    procs: list[Process] = []
    for i, port in enumerate(config.actions_ports(), 1):
        procs.append(
            Process(
                f"actions-{i}",
                [py, "-m", "bot.action_server", "--host", host, "--port", str(port)],
                f"http://{host}:{port}/health",
            )
        )
    for i, port in enumerate(config.rasa_ports(), 1):
        procs.append(
            Process(
                f"rasa-{i}",
                rasa_argv(config, port),
                f"http://{host}:{port}/",
                env=rasa_env(config, settings),
            )
        )
    for i, port in enumerate(config.portal_ports(), 1):
        procs.append(
            Process(
                f"portal-{i}",
                [py, "-m", "ops.portal_app", "--host", host, "--port", str(port)],
                f"http://{host}:{port}/healthz",
                env={"RASA_URL": config.rasa_lb_url},
            )
        )
    dispatch = [py, "-m", "ops.dispatcher", "--host", host]
    dispatch += ["--health-port", str(config.dispatcher_health_port)]
    dispatch += ["--lease-seconds", str(config.dispatch_lease_seconds)]
    dispatch += ["--interval", str(config.dispatch_interval)]
    for target in config.dispatch_targets:
        dispatch += ["--target", target]
    procs.append(
        Process("dispatcher", dispatch, f"http://{host}:{config.dispatcher_health_port}/health")
    )
    nginx_conf = config.run_dir / "nginx.conf"
    procs.append(
        Process(
            "nginx",
            ["nginx", "-c", str(nginx_conf), "-p", str(config.run_dir), "-g", "daemon off;"],
            f"https://{config.portal_host}:{config.lb_portal_port}/nginx-health",
        )
    )
    return procs


def health(procs: list[Process], config: StackConfig, timeout: float = 3.0) -> dict[str, str]:
    """name -> "ok" or what is wrong. Includes each nginx listener."""
    urls = {p.name: p.health_url for p in procs if p.health_url}
    urls["nginx-rasa"] = f"http://{config.bind_host}:{config.lb_rasa_port}/nginx-health"
    urls["nginx-actions"] = f"http://{config.bind_host}:{config.lb_actions_port}/nginx-health"
    results: dict[str, str] = {}
    # verify=False: the local profile's certificate is self-signed, and these are loopback probes.
    with httpx.Client(timeout=timeout, verify=False) as client:  # noqa: S501
        for name, url in urls.items():
            try:
                response = client.get(url)
                code = response.status_code
                results[name] = "ok" if code == 200 else f"HTTP {code}"
            except httpx.HTTPError as exc:
                results[name] = type(exc).__name__
        # The signed channel is what Rasa serves: an unsigned message must be refused.
        try:
            code = client.post(config.rasa_lb_url + WEBHOOK_PATH,
                               json={"sender": "ops-check", "message": "hi", "metadata": {}},
                               ).status_code
            results["rasa-signed-channel"] = (
                "ok" if code == 401 else f"HTTP {code} to an unsigned message (expected 401)"
            )
        except httpx.HTTPError as exc:
            results["rasa-signed-channel"] = type(exc).__name__
    return results


class Supervisor:
    """Start the processes, restart any that exits, stop them all on request."""

    def __init__(self, config: StackConfig, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.procs = processes(config, settings)
        self.stopping = threading.Event()
        self.logs = config.run_dir / "logs"

    def _start(self, proc: Process) -> None:
        private_dir(self.logs)
        out = open_private(self.logs / f"{proc.name}.log", "ab")
        env = {**os.environ, **proc.env, "PYTHONPATH": str(ROOT)}
        proc.popen = subprocess.Popen(
            proc.argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the terminal reaches the supervisor only
        )  # fmt: skip
        out.close()
        self._write_pids()

    def _write_pids(self) -> None:
        pids = {p.name: p.pid for p in self.procs if p.popen and p.popen.poll() is None}
        path = self.config.run_dir / "pids.json"
        temp = path.with_suffix(".tmp")
        with open_private(temp) as handle:
            handle.write(json.dumps({"supervisor": os.getpid(), **pids}))
        os.replace(temp, path)

    def start_all(self) -> None:
        write_nginx(self.config)
        for proc in self.procs:
            self._start(proc)
            print(f"  started {proc.name:<12} pid {proc.pid:<7} {proc.health_url}", flush=True)

    def watch_once(self) -> None:
        """Restart exited processes, with a growing delay for one that keeps dying."""
        now = time.monotonic()
        for proc in self.procs:
            if proc.popen is None or proc.popen.poll() is None:
                continue
            if proc.next_start == 0.0:
                delay = min(MAX_RESTART_DELAY, 1.0 * 2 ** min(proc.restarts, 4))
                proc.next_start = now + delay
                print(
                    f"  {proc.name} exited with {proc.popen.returncode}; restarting in "
                    f"{delay:.0f} s",
                    flush=True,
                )
            elif now >= proc.next_start:
                proc.restarts += 1
                proc.next_start = 0.0
                self._start(proc)
                print(f"  restarted {proc.name} (pid {proc.pid})", flush=True)

    def wait_healthy(self, timeout: float) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while True:
            self.watch_once()
            status = health(self.procs, self.config)
            if all(v == "ok" for v in status.values()) or time.monotonic() > deadline:
                return status
            if self.stopping.wait(2.0):
                return status

    def run(self) -> None:
        while not self.stopping.wait(1.0):
            self.watch_once()

    def stop_all(self) -> None:
        self.stopping.set()
        live = [p for p in reversed(self.procs) if p.popen and p.popen.poll() is None]
        for proc in live:
            try:
                os.killpg(proc.popen.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for proc in live:
            try:
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.popen.pid, signal.SIGKILL)
                proc.popen.wait()
        (self.config.run_dir / "pids.json").unlink(missing_ok=True)
