#!/usr/bin/env bash
# Installs Debian packages for tests that need a system program: apt-install.sh WHAT PACKAGE...
# (as root, or through sudo). Callers check first, so nothing touches the network when the
# programs are already there.
set -euo pipefail

what=$1
shift
as_root=()
if [ "$(id -u)" -ne 0 ]; then
    as_root=(sudo)
fi
echo "Installing $* for $what..."
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
