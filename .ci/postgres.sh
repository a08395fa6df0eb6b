#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on loopback for the store tests; prints the asyncpg URL on stdout.
# Installs the server from Debian's packages when it is missing. Everything lives under $1 (a temp dir).
set -euo pipefail
root="$1"
port="${WAIFU_TEST_POSTGRES_PORT:-54329}"
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends postgresql >&2
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
run_as=()
if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    run_as=(runuser -u postgres --)
fi
mkdir -p "$root"
chmod 777 "$root"
"${run_as[@]}" "$bindir/initdb" -D "$root/data" -U waifu --auth=trust -E UTF8 >&2
"${run_as[@]}" "$bindir/pg_ctl" -D "$root/data" -l "$root/server.log" -w \
    -o "-p $port -k $root -c listen_addresses=127.0.0.1 -c fsync=off" start >&2
"${run_as[@]}" "$bindir/createdb" -h 127.0.0.1 -p "$port" -U waifu waifu_test >&2
echo "postgresql+asyncpg://waifu@127.0.0.1:$port/waifu_test"
