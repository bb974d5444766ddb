#!/usr/bin/env bash
# Debian's python3-doc: the Python 3.11 documentation as about 530 static HTML pages, a real site
# nobody here wrote, for the end-to-end ingestion test and `make bench-ingest`. Installs the
# package when it is missing; does nothing when it is there.
# Usage: python3-doc.sh up|status|path
#   path   prints the HTML root (what `python3 -m http.server --directory` serves)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COMPONENT=python3-doc
DOC_ROOT="${PYTHON3_DOC_ROOT:-/usr/share/doc/python3.11-doc/html}"

present() { [[ -f $DOC_ROOT/index.html ]]; }

case ${1:-up} in
  up)
    if present; then
      log "present ($DOC_ROOT)"
    else
      apt_install python3-doc
      present || die "the python3-doc package did not provide $DOC_ROOT/index.html"
      log "installed ($DOC_ROOT)"
    fi
    ;;
  status)
    if present; then
      printf '%-10s %s (%s HTML files)\n' "$COMPONENT" "$DOC_ROOT" \
        "$(find -L "$DOC_ROOT" -name '*.html' | wc -l)"
    else
      printf '%-10s %s\n' "$COMPONENT" missing
      exit 1
    fi
    ;;
  path)
    present || die "missing: run $0 up"
    echo "$DOC_ROOT"
    ;;
  *)
    echo "usage: $0 up|status|path" >&2
    exit 2
    ;;
esac
