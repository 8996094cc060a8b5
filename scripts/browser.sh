#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the browser tests (tests/web/test_browser.py):
# quiet when it is there, installed with apt-get when missing and we are root.
set -euo pipefail

say() { printf 'browser: %s\n' "$*"; }

if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  say "chromium is not installed and this is not root: install Debian's chromium package, then run again." >&2
  exit 1
fi
say "installing chromium with apt-get"
DEBIAN_FRONTEND=noninteractive apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
command -v chromium >/dev/null 2>&1 || { say "chromium did not install" >&2; exit 1; }
