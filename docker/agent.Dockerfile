# syntax=docker/dockerfile:1
# The edge agent with the `edge` extra only (no torch, no TensorFlow, no FastAPI).
# Multi-arch: docker buildx build --platform linux/arm64,linux/amd64 -f docker/agent.Dockerfile .
# (the base image and every wheel of the edge extra exist for linux/arm64; see docs/deploy.md)
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY requirements/ requirements/
COPY contracts/ contracts/
COPY edge_agent/ edge_agent/
COPY bridge/ bridge/
COPY hub/ hub/
COPY models/ models/
COPY fednids/ fednids/
# the project as a wheel first, then its dependencies from wheels only (no compiler on arm64)
RUN python -m venv /opt/fednids/venv \
 && /opt/fednids/venv/bin/pip wheel --no-deps --wheel-dir /tmp/wheel . \
 && /opt/fednids/venv/bin/pip install --only-binary=:all: -c requirements/lock.txt \
      "$(ls /tmp/wheel/fednids-*.whl)[edge]" \
 && mkdir -p /opt/fednids/model \
 && cp -r models/artifacts/lstm-ae/. /opt/fednids/model/

FROM ${PYTHON_IMAGE}
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/fednids --shell /usr/sbin/nologin fednids \
 && install -d -o fednids -g fednids -m 0750 /var/lib/fednids
COPY --from=build /opt/fednids /opt/fednids
ENV PATH=/opt/fednids/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    FEDNIDS_AGENT_MODEL_DIR=/opt/fednids/model \
    FEDNIDS_AGENT_OUTBOX_PATH=/var/lib/fednids/outbox.db \
    FEDNIDS_AGENT_MODELS_ROOT=/var/lib/fednids/models
USER fednids
WORKDIR /var/lib/fednids
CMD ["fednids", "agent", "run"]
