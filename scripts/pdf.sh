#!/usr/bin/env bash
# Make sure the system libraries of the progress report's PDF are installed: Pango for WeasyPrint
# (apps/outcomes/pdf.py), a font to draw with, and poppler-utils (pdftoppm, pdftotext) for the tests
# that render and read the PDF. Quiet when they are there, installed with apt-get when missing and we
# are root.
set -euo pipefail

say() { printf 'pdf: %s\n' "$*"; }

PACKAGES=(libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core poppler-utils)

have_all() {
  command -v pdftoppm >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1 || return 1
  for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || return 1
  done
}

if have_all; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  say "not a Debian system: install Pango (libpango-1.0, libpangoft2-1.0), a font and poppler-utils, then run again." >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  say "missing some of ${PACKAGES[*]} and this is not root: install them with apt-get, then run again." >&2
  exit 1
fi
say "installing ${PACKAGES[*]} with apt-get"
DEBIAN_FRONTEND=noninteractive apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${PACKAGES[@]}" >/dev/null
have_all || { say "the PDF libraries did not install" >&2; exit 1; }
