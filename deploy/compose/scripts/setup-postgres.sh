#!/bin/sh
# Temporal's schema job (runs in temporalio/admin-tools): creates Temporal's two databases
# if they are missing and brings both schemas up to the versions this image ships, with
# temporal-sql-tool, as Temporal's own compose examples do
# (temporalio/samples-server, compose/scripts/setup-postgres.sh). Each step is a no-op on
# a database that is already there and up to date, so the job can run on every `up`.
#
# Environment: POSTGRES_SEEDS (host), DB_PORT, POSTGRES_USER, SQL_PASSWORD (read by
# temporal-sql-tool), DBNAME and VISIBILITY_DBNAME (defaults as the server's).
set -eu

host=${POSTGRES_SEEDS:?POSTGRES_SEEDS is the PostgreSQL host}
port=${DB_PORT:-5432}
user=${POSTGRES_USER:-temporal}
: "${SQL_PASSWORD:?SQL_PASSWORD is the PostgreSQL password}"
schema_dir=/etc/temporal/schema/postgresql/v12

echo "temporal-schema: waiting for PostgreSQL at $host:$port"
tries=0
until nc -z -w 5 "$host" "$port"; do
  tries=$((tries + 1))
  if [ "$tries" -ge 60 ]; then
    echo "temporal-schema: PostgreSQL did not answer" >&2
    exit 1
  fi
  sleep 1
done

sql_tool() {
  temporal-sql-tool --plugin postgres12 --ep "$host" -p "$port" -u "$user" "$@"
}

setup() { # database, schema directory under $schema_dir
  echo "temporal-schema: $1"
  sql_tool --db "$1" create
  sql_tool --db "$1" setup-schema -v 0.0
  sql_tool --db "$1" update-schema -d "$schema_dir/$2/versioned"
}

setup "${DBNAME:-temporal}" temporal
setup "${VISIBILITY_DBNAME:-temporal_visibility}" visibility
echo "temporal-schema: done"
