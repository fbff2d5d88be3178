#!/usr/bin/env bash
# Installs Debian's PostgreSQL server for the state store's PostgreSQL tests
# (tests/postgres_server.py starts a throwaway server from its binaries; nothing runs as a service).
# Idempotent: does nothing (and never touches the network) when initdb is already there.
set -euo pipefail

if command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
    as_root=(sudo)
fi
echo "Installing postgresql for the state store tests..."
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
