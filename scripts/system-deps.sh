#!/usr/bin/env bash
# Debian packages for the full test suite, and a local PostgreSQL for the database tests.
# Run as root (CI does): scripts/system-deps.sh ; then `source var/test-env.sh` before `make test`.
#   chromium      — browser tests of the pages (Playwright drives /usr/bin/chromium)
#   fonts-wqy-microhei — Chinese glyphs for the pages in the browser
#   espeak-ng     — the Mandarin voice pyttsx3 speaks with
#   postgresql    — the queue and transcript tests also run against PostgreSQL
#   kubernetes-client — kubectl, whose built-in kustomize renders deploy/ in tests/app/test_deploy.py
#   redis-server, haproxy — `make run-cluster` and its fault tests (tests/app/test_cluster_*.py)
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy" || need+=(fonts-wqy-microhei)
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng libespeak-ng1)
command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
command -v kubectl >/dev/null 2>&1 || need+=(kubernetes-client)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# PostgreSQL: start the default cluster and create a throwaway test database.
version=$(ls /etc/postgresql | sort -n | tail -n 1)
pg_ctlcluster "$version" main start 2>/dev/null || pg_ctlcluster "$version" main status >/dev/null
for _ in $(seq 1 30); do
  runuser -u postgres -- pg_isready -q && break
  sleep 1
done
runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -c "ALTER USER postgres PASSWORD 'postgres'"
runuser -u postgres -- psql -tAc "SELECT 1 FROM pg_database WHERE datname = 'gateway_test'" \
  | grep -q 1 || runuser -u postgres -- createdb gateway_test

mkdir -p var
cat > var/test-env.sh <<'ENV'
export TEST_DATABASE_URL=postgresql+asyncpg://postgres:postgres@127.0.0.1:5432/gateway_test
export REQUIRE_FULL_SUITE=1
ENV
echo "system dependencies ready; source var/test-env.sh before make test"
