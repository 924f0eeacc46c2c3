#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL database:
#   scripts/with_postgres.sh python -m pytest -m postgres tests/mash
# Starts the local cluster if PostgreSQL is installed but stopped, creates a database, runs the
# command with TEST_DATABASE_URL pointing at it, and drops the database afterwards (always).
# Needs: PostgreSQL (Debian: apt-get install postgresql) listening on PGHOST:PGPORT
# (default 127.0.0.1:5432) and a role that may create databases (default postgres, trust auth).
set -euo pipefail

PGHOST="${PGHOST:-127.0.0.1}"
PGPORT="${PGPORT:-5432}"
PGUSER="${PGUSER:-postgres}"
export PGHOST PGPORT PGUSER

if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi

if ! command -v psql >/dev/null 2>&1 || ! command -v pg_isready >/dev/null 2>&1; then
    echo "with_postgres: PostgreSQL client tools are not installed." >&2
    echo "  Needed: PostgreSQL 13+ (e.g. 'apt-get install postgresql') on $PGHOST:$PGPORT," >&2
    echo "  with role '$PGUSER' allowed to create databases (trust or a ~/.pgpass entry)." >&2
    exit 3
fi

if ! pg_isready -q -h "$PGHOST" -p "$PGPORT"; then
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql)" ]; then
        version="$(ls /etc/postgresql | sort -V | tail -n 1)"
        echo "with_postgres: PostgreSQL $version is stopped; starting the 'main' cluster"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start
        for _ in $(seq 1 30); do pg_isready -q -h "$PGHOST" -p "$PGPORT" && break; sleep 1; done
    fi
    if ! pg_isready -q -h "$PGHOST" -p "$PGPORT"; then
        echo "with_postgres: no PostgreSQL server answers on $PGHOST:$PGPORT and none could be started." >&2
        echo "  Needed: an installed cluster (pg_lsclusters) or a server at PGHOST/PGPORT." >&2
        exit 3
    fi
fi

db="mash_run_$$_$(date +%s)"
psql -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE \"$db\"" >/dev/null
cleanup() { psql -q -d postgres -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null || true; }
trap cleanup EXIT

export TEST_DATABASE_URL="postgresql://$PGUSER@$PGHOST:$PGPORT/$db"
echo "with_postgres: TEST_DATABASE_URL=$TEST_DATABASE_URL"
"$@"
