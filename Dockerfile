# Herald in a container: dependencies from the lock file in their own layer (a code change
# rebuilds only the last layers), a slim non-root runtime image, SQLite under /data unless
# DATABASE_URL says otherwise, health checked on /healthz. See docs/operations.md.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/herald
# 1. Dependencies, pinned: this layer changes only when requirements.lock does.
COPY requirements.lock /tmp/requirements.lock
RUN /opt/herald/bin/pip install --no-compile -r /tmp/requirements.lock
# 2. Herald itself, without touching the dependencies.
COPY pyproject.toml README.md /src/
COPY bot /src/bot
COPY jobs /src/jobs
RUN /opt/herald/bin/pip install --no-compile --no-deps /src

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/herald/bin:$PATH \
    HERALD_CONFIG=/app/config.yaml \
    HERALD_LISTEN=0.0.0.0:8080 \
    DATABASE_URL=sqlite:////data/herald.db
RUN useradd --create-home --uid 10001 herald \
    && mkdir -p /data /app \
    && chown herald:herald /data
COPY --from=build /opt/herald /opt/herald
COPY config.yaml /app/config.yaml
WORKDIR /app
USER herald
VOLUME ["/data"]
EXPOSE 8080
# The process is alive and its HTTP server answers (readiness, for a load balancer: /readyz).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
ENTRYPOINT ["herald"]
CMD ["run"]
