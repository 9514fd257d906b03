#!/bin/sh
# The browser of `make test-ui`: Debian's chromium package (Playwright's own browser download
# is not used). Installs it when it is missing and this runs as root with apt-get; otherwise
# says what to do. Usage: install_chromium.sh [BINARY] (default: chromium).
set -eu
want="${1:-chromium}"
if command -v "$want" >/dev/null 2>&1; then
    exit 0
fi
if [ "$want" != chromium ]; then
    echo "error: CHROMIUM=$want is not a program found on PATH" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
    echo "error: make test-ui needs a Chromium browser and cannot install it here (apt-get" \
         "needs root): run 'sudo apt-get install chromium' (Debian/Ubuntu), or pass another" \
         "Chromium or Chrome binary: make test-ui CHROMIUM=/path/to/chrome" >&2
    exit 1
fi
echo "make test-ui: installing Debian's chromium package with apt-get"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
        >"$log" 2>&1 || ! command -v chromium >/dev/null 2>&1; then
    tail -n 20 "$log" >&2
    echo "error: could not install Debian's chromium package (the browser of make test-ui)" >&2
    exit 1
fi
