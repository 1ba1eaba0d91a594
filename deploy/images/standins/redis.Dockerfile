# Stand-in for redis:<version>-bookworm, from Debian's redis-server: runs as the redis
# user in /data; like the official image, protected mode is off (the entry point adds
# --protected-mode no), so other containers of the network may connect.
ARG BASE=kbm-standin/debian:bookworm
FROM ${BASE}
ARG VERSION=7.0
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
    && apt-get install -y --no-install-recommends redis-server redis-tools \
    && rm -rf /var/lib/apt/lists/* \
    && redis-server --version | grep -q "v=${VERSION}\." \
    && mkdir -p /data && chown redis:redis /data
COPY redis-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
WORKDIR /data
USER redis
EXPOSE 6379
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["redis-server"]
