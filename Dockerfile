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
COPY deploy/config/config.toml /config/config.toml
COPY rules /config/rules
RUN mkdir -p /app/state && chown monitor:monitor /app/state

USER monitor
VOLUME ["/app/state"]
# The bundled config serves /healthz and /metrics on 0.0.0.0:9108.
EXPOSE 9108
HEALTHCHECK --interval=30s --timeout=10s --start-period=1m --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9108/healthz', timeout=5)"]
ENTRYPOINT ["monitor"]
CMD ["run", "--config", "/config/config.toml"]
