# Stand-in for postgres:<major>-bookworm, from Debian's postgresql-<major>: the same
# PGDATA, POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB on first start, password
# (scram-sha-256) authentication from other hosts, runs as the postgres user.
ARG BASE=kbm-standin/debian:bookworm
FROM ${BASE}
ARG VERSION=15
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
    && apt-get install -y --no-install-recommends "postgresql-${VERSION}" \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
    && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql \
    && chmod 700 /var/lib/postgresql/data
ENV PATH=/usr/lib/postgresql/${VERSION}/bin:$PATH \
    PGDATA=/var/lib/postgresql/data \
    LANG=C.UTF-8
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
USER postgres
EXPOSE 5432
# Fast shutdown: ends sessions, writes a checkpoint (as the official image).
STOPSIGNAL SIGINT
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
