# syntax=docker/dockerfile:1
# One image for every hub process: bridge, ingestor, analytics services, API, migrations and
# the Flower SuperLink (whose ServerApp is federated.server_app from this same install).
# Build from the repository root:  docker build -f docker/hub.Dockerfile -t fednids-hub .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# torch comes with the `hub` extra; on x86_64 point this at a CPU-only wheel index to keep the
# image small (empty: the default index only)
ARG PIP_EXTRA_INDEX_URL=""
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
RUN python -m venv /opt/fednids/venv \
 && /opt/fednids/venv/bin/pip install -c requirements/lock.txt ".[hub]"
# the shipped models (models/artifacts/*) are package data: the settings find them in the install

FROM ${PYTHON_IMAGE}
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/fednids \
      --shell /usr/sbin/nologin fednids \
 && install -d -o fednids -g fednids /var/lib/fednids /var/lib/fednids/registry /var/lib/flwr \
      /home/fednids/.flwr
COPY --from=build /opt/fednids /opt/fednids
ENV PATH=/opt/fednids/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    FLWR_TELEMETRY_ENABLED=0
USER fednids
WORKDIR /var/lib/fednids
CMD ["fednids", "--help"]
