# One image per service, all built from this file:
#
#   docker build --target api    -t kbm-api .      # gateway: gunicorn on :5000, /metrics
#   docker build --target parser -t kbm-parser .   # kbm worker parser   (queue parsing, metrics :9191)
#   docker build --target ai     -t kbm-ai .       # kbm worker ai       (queue ai, metrics :9191)
#   docker build --target notion -t kbm-notion .   # kbm worker notion   (queue notion, metrics :9191)
#   docker build --target housekeeping -t kbm-housekeeping .  # kbm worker default (reconciler, cleanup)
#   docker build --target scheduler -t kbm-scheduler .        # kbm scheduler (periodiq: exactly one)
#   docker build --target migrate   -t kbm-migrate .          # kbm migrate (one-shot)
#   docker build -t kbm .             # the last stage: every service and scripts/ in one
#                                     # image (a bare `build: .`, the original guide's)
#
# `make images` builds them all (docker-compose.yml) and, where no registry answers,
# stand-ins for the base images (deploy/images/build). Offline, or where builds cannot
# reach PyPI, the dependencies come from the wheels in wheelhouse/:
#
#   docker build --build-arg PIP_NO_INDEX=1 --target parser -t kbm-parser .
#
# The classic builder and BuildKit both build it (no BuildKit-only syntax).
# Each image carries only its service's extras (pyproject.toml) plus the `kbm` command,
# runs as the unprivileged user 10001 with a read-only root filesystem in mind (only /tmp
# and, for the Markdown publisher, /app/export are written), and starts under tini so that
# SIGTERM reaches the service: periodiq installs no SIGTERM handler and, as PID 1, would
# ignore it until the orchestrator's grace period ran out.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- common base ------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS python
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PATH=/opt/venv/bin:$PATH

# --- virtualenvs, one per dependency set ------------------------------------------------
# Dependencies first (from pyproject.toml alone, cached until it changes), then the
# project itself without dependencies, so a code change rebuilds one small layer.
FROM python AS deps
# 1: install from wheelhouse/ only (offline). Pip also looks there when online.
ARG PIP_NO_INDEX=0
ENV PIP_NO_INDEX=${PIP_NO_INDEX} \
    PIP_FIND_LINKS=/wheelhouse \
    PIP_NO_CACHE_DIR=1
COPY wheelhouse/ /wheelhouse/
WORKDIR /src
# pyproject.toml names README.md as the package's description: a blank one here keeps a
# README edit from rebuilding the dependency layers (the real one comes with the code).
COPY pyproject.toml ./
# --upgrade-deps: the base image's pip may predate fixes its resolver needs here (pip 23
# fails on lxml[html-clean] required twice by the parser's extras).
RUN touch README.md && mkdir shared services \
    && python -m venv --upgrade-deps /opt/venv

FROM deps AS venv-core
RUN pip install "/src[cli]"
COPY README.md ./
COPY shared ./shared
COPY services ./services
RUN pip install --no-deps --force-reinstall --no-build-isolation /src \
    && pip uninstall --yes --quiet pip setuptools

FROM deps AS venv-api
RUN pip install "/src[api,cli]"
COPY README.md ./
COPY shared ./shared
COPY services ./services
RUN pip install --no-deps --force-reinstall --no-build-isolation /src \
    && pip uninstall --yes --quiet pip setuptools

FROM deps AS venv-parser
RUN pip install "/src[parser,cli]"
COPY README.md ./
COPY shared ./shared
COPY services ./services
RUN pip install --no-deps --force-reinstall --no-build-isolation /src \
    && pip uninstall --yes --quiet pip setuptools

FROM deps AS venv-ai
RUN pip install "/src[ai,cli]"
COPY README.md ./
COPY shared ./shared
COPY services ./services
RUN pip install --no-deps --force-reinstall --no-build-isolation /src \
    && pip uninstall --yes --quiet pip setuptools

FROM deps AS venv-notion
RUN pip install "/src[notion,cli]"
COPY README.md ./
COPY shared ./shared
COPY services ./services
RUN pip install --no-deps --force-reinstall --no-build-isolation /src \
    && pip uninstall --yes --quiet pip setuptools

FROM deps AS venv-all
RUN pip install "/src[api,parser,ai,notion,cli]"
COPY README.md ./
COPY shared ./shared
COPY services ./services
RUN pip install --no-deps --force-reinstall --no-build-isolation /src \
    && pip uninstall --yes --quiet pip setuptools

# --- runtime base: user, init, probe ------------------------------------------------------
FROM python AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends 'tini=0.19.*' \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 kbm \
    && useradd --system --uid 10001 --gid kbm --no-create-home --home-dir /app \
        --shell /usr/sbin/nologin kbm \
    && mkdir -p /app/export \
    && chown kbm:kbm /app/export
WORKDIR /app
COPY deploy/probe.py /app/deploy/probe.py
# Settings for every container; the rest comes from the orchestrator (.env, ConfigMap,
# Secret). Dramatiq's metrics folder must be writable: /tmp (a tmpfs or emptyDir). Worker
# metrics listen on loopback unless the orchestrator sets WORKER_METRICS_HOST=0.0.0.0
# for its Prometheus (docker-compose.yml and deploy/k8s do).
ENV TZ=UTC \
    EXPORT_DIR=/app/export
USER 10001:10001
ENTRYPOINT ["tini", "--"]

# --- one target per service ---------------------------------------------------------------
FROM runtime AS api
COPY --from=venv-api /opt/venv /opt/venv
# In a container the gateway binds beyond loopback, so API_TOKEN is required (it refuses
# to start without one).
ENV API_HOST=0.0.0.0 \
    API_PORT=5000
EXPOSE 5000
CMD ["kbm", "api"]

FROM runtime AS parser
COPY --from=venv-parser /opt/venv /opt/venv
EXPOSE 9191
CMD ["kbm", "worker", "parser"]

FROM runtime AS ai
COPY --from=venv-ai /opt/venv /opt/venv
EXPOSE 9191
CMD ["kbm", "worker", "ai"]

FROM runtime AS notion
COPY --from=venv-notion /opt/venv /opt/venv
EXPOSE 9191
CMD ["kbm", "worker", "notion"]

FROM runtime AS housekeeping
COPY --from=venv-core /opt/venv /opt/venv
EXPOSE 9191
CMD ["kbm", "worker", "default"]

FROM runtime AS scheduler
COPY --from=venv-core /opt/venv /opt/venv
CMD ["kbm", "scheduler"]

FROM runtime AS migrate
COPY --from=venv-core /opt/venv /opt/venv
CMD ["kbm", "migrate"]

# --- the last stage: every service in one image ------------------------------------------
# What a bare `docker build .` (or `build: .` in a compose file) gets: any kbm command, and
# the original system's `python scripts/start_workers.py --queue parsing --workers 3` and
# `python scripts/test_async_system.py`.
FROM runtime AS all
COPY --from=venv-all /opt/venv /opt/venv
COPY scripts/start_workers.py scripts/test_async_system.py /app/scripts/
EXPOSE 5000 9191
CMD ["kbm", "--help"]
