#!/bin/sh
# Runs once, when the service's PostgreSQL volume is initialised: creates the service's own role
# (not a superuser) and database, and revokes CONNECT from PUBLIC, as `npm run provision` does.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v role="$SERVICE_DB_NAME" -v password="$SERVICE_DB_PASSWORD" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"role" OWNER :"role";
REVOKE CONNECT ON DATABASE :"role" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"role" TO :"role";
SQL
