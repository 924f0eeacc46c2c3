"""Files under var/ are 0600 and directories 0700 even when the umask is the usual 022; the
directories on nginx's temp path keep only the traverse bit nginx's workers need."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from chat.spool import EscalationSpool
from mash.db import make_engine
from ops.config import StackConfig
from ops.stack import Supervisor, open_nginx_temp, write_nginx
from private_files import private_dir
from settings import ROOT, Settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_sqlite_database_and_its_wal_and_shm_are_private(tmp_path: Path) -> None:
    from sqlalchemy import text

    db_path = tmp_path / "var" / "app.db"
    engine = make_engine(url=f"sqlite:///{db_path}")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x TEXT)"))
            conn.execute(text("INSERT INTO t VALUES ('a disclosure')"))
        files = [db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")]
        assert all(f.exists() for f in files)
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
        assert mode(db_path.parent) == 0o700
    finally:
        engine.dispose()


def test_an_existing_loose_database_is_tightened(tmp_path: Path) -> None:
    db_path = tmp_path / "app.db"
    db_path.touch(mode=0o644)
    os.chmod(db_path, 0o644)
    make_engine(url=f"sqlite:///{db_path}").dispose()
    assert mode(db_path) == 0o600


def test_escalation_spool_files_are_private(tmp_path: Path) -> None:
    spool = EscalationSpool(tmp_path / "var" / "escalation-spool")
    path = spool.put({"message_id": "m-1", "text": "she said her dad hit her"})
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700 and mode(path.parent.parent) == 0o700
    assert json.loads(path.read_text())["text"] == "she said her dad hit her"


def test_private_dir_creates_0700_and_closes_an_open_one_without_breaking_traverse(
    tmp_path: Path,
) -> None:
    fresh = private_dir(tmp_path / "a" / "b")
    assert mode(fresh) == 0o700 and mode(fresh.parent) == 0o700
    loose = tmp_path / "loose"
    loose.mkdir()
    os.chmod(loose, 0o755)  # noqa: S103 - the loose directory under test
    assert mode(private_dir(loose)) == 0o711  # no listing; nginx may still pass through


def stack_config(tmp_path: Path) -> StackConfig:
    return StackConfig.from_env({"PROD_RUN_DIR": str(tmp_path / "var" / "prod")})


def test_production_run_dir_logs_pids_and_nginx_files_are_private(tmp_path: Path) -> None:
    config = stack_config(tmp_path)
    settings = Settings(environment="test", var_dir=tmp_path / "var")
    conf = write_nginx(config)
    supervisor = Supervisor(config, settings)
    supervisor._start(_Quick("portal"))
    supervisor.procs[0].popen = None
    run_dir = config.run_dir
    for f in (conf, run_dir / "nginx-error.log", run_dir / "nginx-access.log",
              run_dir / "logs" / "portal.log", run_dir / "pids.json",
              *config.tls_paths()):  # fmt: skip
        assert mode(f) == 0o600, f
    assert mode(run_dir / "logs") == 0o700 and mode(run_dir / "tls") == 0o700
    # nginx's workers (nobody) must still reach their temp path: traverse only, no listing.
    for directory in (run_dir / "nginx-tmp", run_dir, run_dir.parent):
        assert mode(directory) & 0o077 == 0o011, directory


class _Quick:
    """A Process stand-in that exits at once (only its log file matters here)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.argv = ["true"]
        self.env: dict[str, str] = {}
        self.popen = None


def test_nginx_temp_path_stays_open_after_var_is_made_private(tmp_path: Path) -> None:
    """The portal making var/ private after nginx's temp path was opened must not close it."""
    var = tmp_path / "var"
    open_nginx_temp(var / "prod" / "nginx-tmp")
    private_dir(var)
    private_dir(var / "prod")
    for directory in (var / "prod" / "nginx-tmp", var / "prod", var):
        assert mode(directory) & 0o011 == 0o011, directory


def test_make_run_keeps_a_private_umask_before_writing_anything_under_var() -> None:
    script = (ROOT / "scripts" / "run.sh").read_text().splitlines()
    umask_line = next(i for i, line in enumerate(script) if line.strip() == "umask 077")
    writes_var = re.compile(r"(mkdir -p|>) var")
    first_write = next(i for i, line in enumerate(script) if writes_var.search(line))
    assert umask_line < first_write


def test_a_shared_sticky_directory_is_never_tightened(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # noqa: S103 - like /tmp
    make_engine(url=f"sqlite:///{shared / 'app.db'}").dispose()
    private_dir(shared)
    assert mode(shared) == 0o1777 and mode(shared / "app.db") == 0o600
