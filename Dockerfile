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

COPY config.toml ./config.toml
COPY rules ./rules
RUN mkdir -p /app/state && chown monitor:monitor /app/state

USER monitor
VOLUME ["/app/state"]
EXPOSE 9108
ENTRYPOINT ["monitor"]
CMD ["run", "--config", "/app/config.toml"]
