#!/usr/bin/env bash
# Debian's Chromium and ChromeDriver for the browser tests (test/e2e/ui.test.ts drives
# /usr/bin/chromium with playwright-core; no browser is downloaded by any npm package).
# Installs only when /usr/bin/chromium is missing; safe to run twice. Needs root (CI runs as root).
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
  echo "install-chromium: $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium present')"
  exit 0
fi

SUDO=""
if [[ "$(id -u)" != "0" ]]; then SUDO="sudo"; fi

echo "install-chromium: installing Debian's chromium and chromium-driver"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core >/dev/null
echo "install-chromium: $(/usr/bin/chromium --version)"
