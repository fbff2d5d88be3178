#!/usr/bin/env bash
# Installs Debian's headless Chromium and its WebDriver for tests/test_report_browser.py.
# Idempotent: does nothing (and never touches the network) when both are already installed.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi
exec bash "$(dirname "$0")/apt-install.sh" "the browser test" "${missing[@]}"
