#!/bin/sh
# System packages the tests need: Chromium (report rendering and PDF tests), PostgreSQL (the service's tests start
# their own cluster), a Java runtime, 17 or later (the Spark tests run PySpark in local mode), and npm (axe-core, from the npm registry, checks the console's pages). Installs what is missing with apt-get when this is root on Debian/Ubuntu; otherwise says what to install.
set -e
need=""
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 && ! command -v google-chrome >/dev/null 2>&1; then
  need="$need chromium"
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  need="$need postgresql"
fi
java_ok() {
  command -v java >/dev/null 2>&1 || return 1
  v=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
  [ -n "$v" ] && [ "$v" -ge 17 ]
}
if ! command -v npm >/dev/null 2>&1; then
  need="$need npm"
fi
if ! java_ok; then
  need="$need openjdk-17-jre-headless"
fi
[ -z "$need" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing$need (apt-get) for the tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
  exit 0
fi
echo "The tests need:$need. Install (Debian/Ubuntu: sudo apt-get install$need) and rerun." >&2
exit 1
