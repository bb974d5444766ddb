#!/usr/bin/env bash
# Debian's Chromium for the scraper's JavaScript rendering (Playwright drives it through
# executable_path=/usr/bin/chromium; `playwright install` downloads browsers from outside the
# package registries, so it is never used). Installs the `chromium` package when it is missing;
# does nothing when it is there.
# Usage: chromium.sh up|status
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COMPONENT=chromium
CHROMIUM_BIN="${SCRAPER_CHROMIUM_PATH:-/usr/bin/chromium}"

case ${1:-up} in
  up)
    if [[ -x $CHROMIUM_BIN ]]; then
      log "present ($CHROMIUM_BIN)"
    else
      apt_install chromium
      [[ -x $CHROMIUM_BIN ]] || die "the chromium package did not provide $CHROMIUM_BIN"
      log "installed ($CHROMIUM_BIN)"
    fi
    ;;
  status)
    if [[ -x $CHROMIUM_BIN ]]; then
      printf '%-10s %s\n' "$COMPONENT" "$("$CHROMIUM_BIN" --version 2>/dev/null || echo "$CHROMIUM_BIN")"
    else
      printf '%-10s %s\n' "$COMPONENT" missing
      exit 1
    fi
    ;;
  *)
    echo "usage: $0 up|status" >&2
    exit 2
    ;;
esac
