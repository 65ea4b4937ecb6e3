#!/bin/sh
# System packages the tests need: Chromium (report rendering and PDF tests).
# Installs it with apt-get when missing and this is root on Debian/Ubuntu; otherwise says what to install.
set -e
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium (apt-get) for the report tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "The report tests need Chromium or Chrome: install it (Debian/Ubuntu: sudo apt-get install chromium) and rerun." >&2
exit 1
