# Watch-desk monitor: `docker build -t watchdesk-monitor .` (see README.md, "Docker").
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin monitor
WORKDIR /app

COPY pyproject.toml README.md ./
COPY monitor ./monitor
RUN python -m pip install . && rm -rf build

# The config directory: config.toml and the rules it names (relative paths
# are read from the config file's directory). Mount a directory over /config
# to change them, never single files: an editor that saves by replacing a
# file leaves a single-file mount on the old text, and hot reload sees nothing.
COPY config.toml /config/config.toml
COPY rules /config/rules
RUN mkdir -p /app/state && chown monitor:monitor /app/state

# What a container needs other than the desk's config.toml, whichever
# config.toml runs (set one to "" to use the file's value): the state
# database on the /app/state volume, since /config may be read-only; /healthz,
# /livez and /metrics on every interface, so that -p and Prometheus reach
# them. Images before this one read /app/config.toml and /app/rules: with
# either there and the config in use elsewhere, `run` and `once` refuse to
# start rather than watch the bundled feeds unnoticed.
ENV MONITOR_STATE_PATH=/app/state/monitor.db \
    MONITOR_SERVER_HOST=0.0.0.0 \
    MONITOR_LEGACY_CONFIG_DIR=/app

USER monitor
VOLUME ["/app/state"]
# The bundled config serves /healthz, /livez and /metrics on port 9108.
EXPOSE 9108
# /livez, not /healthz: Swarm (and restarters such as autoheal) replace an
# unhealthy container, and a restart cures a dead scheduler but not a DNS or
# egress outage, which /healthz reports with a 503 (README.md, "Docker").
HEALTHCHECK --interval=30s --timeout=10s --start-period=1m --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9108/livez', timeout=5)"]
ENTRYPOINT ["monitor"]
CMD ["run", "--config", "/config/config.toml"]
