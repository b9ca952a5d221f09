# Sourced by scripts: starts a throwaway PostgreSQL cluster on 127.0.0.1 (installing
# Debian's `postgresql` package when missing), exports HARMONY_TEST_POSTGRES_URL, and
# stops and deletes the cluster when the calling script exits.
# `initdb` refuses to run as root, so the cluster runs as the `postgres` user.

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  "$(dirname "${BASH_SOURCE[0]}")/install-debian-packages" postgresql
fi
PGBIN=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
# Ports below the kernel's ephemeral range (32768 and up on Debian), where no outgoing
# connection can be holding one, each tried in turn; PGPORT names one, or a list.
# (PostgreSQL's own programs read PGPORT from the environment: it is unset while they run.)
pg_ports=${PGPORT:-"25432 25433 25434 25435 25436 25437 25438 25439"}
unset PGPORT
PGTMP=$(mktemp -d /tmp/harmony-pg.XXXXXX)
as_pg() { if [ "$(id -u)" = 0 ]; then chown -R postgres: "$PGTMP"; runuser -u postgres -- "$@"; else "$@"; fi; }
as_pg "$PGBIN/initdb" -D "$PGTMP/data" -U postgres -A trust --no-sync -E UTF8 >"$PGTMP/initdb.log"
for port in $pg_ports; do
  # fsync=off by default: a throwaway test cluster (the benchmark sets PG_FSYNC=on).
  if as_pg "$PGBIN/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/pg.log" -w -t 30 start \
    -o "-h 127.0.0.1 -p $port -k $PGTMP -c fsync=${PG_FSYNC:-off} -c max_connections=300" \
    >/dev/null 2>>"$PGTMP/pg.log"; then
    PGPORT=$port
    break
  fi
done
if [ -z "${PGPORT:-}" ]; then
  echo "PostgreSQL did not start on any of the ports $pg_ports:" >&2
  cat "$PGTMP/pg.log" >&2
  rm -rf "$PGTMP"
  exit 1
fi
pg_stop() { as_pg "$PGBIN/pg_ctl" -D "$PGTMP/data" -m immediate stop >/dev/null 2>&1; rm -rf "$PGTMP"; }
trap pg_stop EXIT
export HARMONY_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
