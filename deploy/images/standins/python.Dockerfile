# Stand-in for python:<version>-slim-bookworm, from Debian's own packages: the
# interpreter as `python`/`python3`, venv with ensurepip, CA certificates, tzdata.
ARG BASE=kbm-standin/debian:bookworm
FROM ${BASE}
ARG VERSION=3.11
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        "python${VERSION}" "python${VERSION}-venv" ca-certificates netbase tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && ln -s "/usr/bin/python${VERSION}" /usr/local/bin/python \
    && ln -s "/usr/bin/python${VERSION}" /usr/local/bin/python3 \
    && python --version | grep -q "^Python ${VERSION}\."
ENV LANG=C.UTF-8
CMD ["python3"]
