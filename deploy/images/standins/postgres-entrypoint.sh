#!/bin/sh
# First start on an empty PGDATA: initdb with POSTGRES_USER as superuser and
# POSTGRES_PASSWORD, then create POSTGRES_DB; every later start finds the cluster.
# As the official image: other hosts authenticate with scram-sha-256, or without a
# password when POSTGRES_HOST_AUTH_METHOD=trust.
set -eu
if [ "${1:-}" = "postgres" ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    method="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
    if [ "$method" != trust ]; then
        : "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust)}"
    fi
    user="${POSTGRES_USER:-postgres}"
    db="${POSTGRES_DB:-$user}"
    pwfile="$(mktemp)"
    printf '%s\n' "${POSTGRES_PASSWORD:-}" > "$pwfile"
    if [ -n "${POSTGRES_PASSWORD:-}" ]; then password="--pwfile=$pwfile"; else password=; fi
    # shellcheck disable=SC2086 # $password is one option or none
    initdb --username="$user" $password --auth-local=trust \
        --auth-host="$method" --encoding=UTF8 >/dev/null
    rm -f "$pwfile"
    printf 'host all all all %s\n' "$method" >> "$PGDATA/pg_hba.conf"
    pg_ctl -w -o "-c listen_addresses=''" start >/dev/null
    if [ "$db" != "postgres" ]; then
        createdb --username="$user" "$db"
    fi
    pg_ctl -w -m fast stop >/dev/null
fi
if [ "${1:-}" = "postgres" ]; then
    shift
    exec postgres -c listen_addresses='*' "$@"
fi
exec "$@"
