#!/usr/bin/env bash
# Installs Debian's PostgreSQL server for the state store's PostgreSQL tests
# (tests/postgres_server.py starts a throwaway server from its binaries; nothing runs as a service).
# Idempotent: does nothing (and never touches the network) when initdb is already there.
set -euo pipefail

if command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    exit 0
fi
exec bash "$(dirname "$0")/apt-install.sh" "the state store tests" postgresql
