# Stand-in for prom/prometheus:v<version>, from Debian's prometheus: the binary as entry
# point, storage in /prometheus, runs as nobody; wget for the compose health check (the
# official image has busybox's).
ARG BASE=kbm-standin/debian:bookworm
FROM ${BASE}
ARG VERSION=2.42.0
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
    && apt-get install -y --no-install-recommends prometheus wget \
    && rm -rf /var/lib/apt/lists/* \
    # 210 MB of time-zone data for the console templates' JavaScript, which the
    # Prometheus server itself never reads.
    && dpkg --purge --force-depends libjs-moment-timezone \
    && prometheus --version 2>&1 | grep -q "version ${VERSION}" \
    && mkdir -p /prometheus /etc/prometheus \
    && chown nobody:nogroup /prometheus
WORKDIR /prometheus
USER nobody
EXPOSE 9090
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
