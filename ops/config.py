"""The production profile's layout: how many replicas of what, on which ports, with which stores.

The application's own settings stay in settings.py (Settings.from_env); this is the process
layout around it, also read only from the environment (deploy/production.env.example lists
every variable). Everything listens on loopback unless BIND_HOST says otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import ip_address, ip_network
from pathlib import Path
from urllib.parse import unquote, urlsplit

from settings import ROOT, SettingsError

# Rasa and the action servers answer only on these (with each message's signature checked by
# every Rasa replica, bot/channels/signed.py): never on a public address.
PRIVATE_NETWORKS = ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1/128",
                    "fc00::/7")


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name) or ""
    try:
        return int(raw) if raw else default
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None


@dataclass(frozen=True)
class StackConfig:
    bind_host: str = "127.0.0.1"  # loopback or a private address: Rasa, actions, replicas
    public_host: str = ""  # the portal's HTTPS listener only; empty: bind_host
    rasa_replicas: int = 2
    action_replicas: int = 2
    portal_replicas: int = 1
    rasa_port_base: int = 5101  # replica i listens on base + i
    actions_port_base: int = 5151
    portal_port_base: int = 8101
    dispatcher_health_port: int = 8191
    lb_rasa_port: int = 5080  # nginx in front of the Rasa replicas
    lb_actions_port: int = 5081  # nginx in front of the action servers
    lb_portal_port: int = 8080  # nginx in front of the portal (the public face)
    tracker_database_url: str = "postgresql://postgres@127.0.0.1:5432/guidance_rasa"
    redis_url: str = "redis://127.0.0.1:6379/3"
    rasa_model: str = ""
    rasa_tf_threads: int = 1  # one core per replica: replicas, not threads, scale out
    dispatch_targets: tuple[str, ...] = ("log",)
    dispatch_lease_seconds: float = 60.0
    dispatch_interval: float = 2.0
    run_dir: Path = ROOT / "var" / "prod"
    # On several machines nginx balances over other hosts: "host:port host:port ...".
    # Empty: the local replicas on bind_host.
    rasa_upstreams: tuple[str, ...] = ()
    # The portal's certificate; empty: a self-signed one is made under run_dir (local use only).
    tls_cert: str = ""
    tls_key: str = ""
    actions_upstreams: tuple[str, ...] = ()
    portal_upstreams: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StackConfig:
        env = os.environ if env is None else env
        config = cls(
            bind_host=env.get("BIND_HOST") or "127.0.0.1",
            public_host=env.get("PUBLIC_HOST", ""),
            rasa_replicas=_int(env, "RASA_REPLICAS", 2),
            action_replicas=_int(env, "ACTION_REPLICAS", 2),
            portal_replicas=_int(env, "PORTAL_REPLICAS", 1),
            rasa_port_base=_int(env, "RASA_PORT_BASE", 5101),
            actions_port_base=_int(env, "ACTIONS_PORT_BASE", 5151),
            portal_port_base=_int(env, "PORTAL_PORT_BASE", 8101),
            dispatcher_health_port=_int(env, "DISPATCHER_HEALTH_PORT", 8191),
            lb_rasa_port=_int(env, "LB_RASA_PORT", 5080),
            lb_actions_port=_int(env, "LB_ACTIONS_PORT", 5081),
            lb_portal_port=_int(env, "LB_PORTAL_PORT", 8080),
            tracker_database_url=env.get("TRACKER_DATABASE_URL") or cls.tracker_database_url,
            redis_url=env.get("REDIS_URL") or cls.redis_url,
            rasa_model=env.get("RASA_MODEL", ""),
            rasa_tf_threads=_int(env, "RASA_TF_THREADS", 1),
            dispatch_targets=tuple((env.get("DISPATCH_TARGETS") or "log").split()),
            dispatch_lease_seconds=float(env.get("DISPATCH_LEASE_SECONDS") or 60.0),
            dispatch_interval=float(env.get("DISPATCH_INTERVAL") or 2.0),
            # Relative to the project root (nginx resolves relative paths against its prefix).
            run_dir=ROOT / (env.get("PROD_RUN_DIR") or "var/prod"),
            tls_cert=env.get("TLS_CERT", ""),
            tls_key=env.get("TLS_KEY", ""),
            rasa_upstreams=tuple((env.get("RASA_UPSTREAMS") or "").split()),
            actions_upstreams=tuple((env.get("ACTIONS_UPSTREAMS") or "").split()),
            portal_upstreams=tuple((env.get("PORTAL_UPSTREAMS") or "").split()),
        )
        config.check()
        return config

    def check(self) -> None:
        if min(self.rasa_replicas, self.action_replicas, self.portal_replicas) < 1:
            raise SettingsError("each process kind needs at least one replica")
        tracker = urlsplit(self.tracker_database_url)
        if not tracker.scheme.startswith("postgresql") or not tracker.path.strip("/"):
            raise SettingsError(
                "TRACKER_DATABASE_URL must be postgresql://USER[:PASSWORD]@HOST:PORT/DATABASE"
            )
        if urlsplit(self.redis_url).scheme not in ("redis", "rediss"):
            raise SettingsError("REDIS_URL must be redis://[:PASSWORD@]HOST:PORT/DB")
        if not is_private(self.bind_host):
            raise SettingsError(
                f"BIND_HOST must be loopback or a private address (got {self.bind_host!r}): "
                "Rasa and the action servers listen there; put the portal on PUBLIC_HOST"
            )

    @property
    def portal_host(self) -> str:
        """Where nginx's HTTPS listener for the portal binds (the only public face)."""
        return self.public_host or self.bind_host

    # -- addresses ------------------------------------------------------------------------
    def rasa_ports(self) -> list[int]:
        return [self.rasa_port_base + i for i in range(self.rasa_replicas)]

    def actions_ports(self) -> list[int]:
        return [self.actions_port_base + i for i in range(self.action_replicas)]

    def portal_ports(self) -> list[int]:
        return [self.portal_port_base + i for i in range(self.portal_replicas)]

    @property
    def rasa_lb_url(self) -> str:
        return f"http://{self.bind_host}:{self.lb_rasa_port}"

    @property
    def actions_lb_url(self) -> str:
        return f"http://{self.bind_host}:{self.lb_actions_port}/webhook"

    @property
    def portal_lb_url(self) -> str:
        return f"https://{self.portal_host}:{self.lb_portal_port}"

    def tls_paths(self) -> tuple[Path, Path]:
        if self.tls_cert and self.tls_key:
            return Path(self.tls_cert), Path(self.tls_key)
        return self.run_dir / "tls" / "portal.crt", self.run_dir / "tls" / "portal.key"

    # -- what Rasa's endpoints file reads (bot/endpoints.production.yml) --------------------
    def rasa_store_env(self) -> dict[str, str]:
        tracker = urlsplit(self.tracker_database_url)
        redis = urlsplit(self.redis_url)
        return {
            "RASA_TRACKER_DB_HOST": f"{tracker.hostname or '127.0.0.1'}:{tracker.port or 5432}",
            "RASA_TRACKER_DB_NAME": tracker.path.strip("/"),
            "RASA_TRACKER_DB_USER": unquote(tracker.username or "postgres"),
            "RASA_TRACKER_DB_PASSWORD": unquote(tracker.password or ""),
            "RASA_REDIS_HOST": redis.hostname or "127.0.0.1",
            "RASA_REDIS_PORT": str(redis.port or 6379),
            "RASA_REDIS_DB": redis.path.strip("/") or "0",
            "RASA_REDIS_PASSWORD": unquote(redis.password or ""),
            "RASA_LOCK_PREFIX": "guidance",
        }


def is_private(host: str) -> bool:
    """True for "localhost" and addresses in PRIVATE_NETWORKS; False for names and public IPs
    (a name could resolve anywhere)."""
    if host == "localhost":
        return True
    try:
        address = ip_address(host)
    except ValueError:
        return False
    return any(address in ip_network(net) for net in PRIVATE_NETWORKS)
