# Herald in a container: slim Python, non-root user, SQLite under the /data volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HERALD_CONFIG=/app/config.yaml \
    DATABASE_URL=sqlite:////data/herald.db

RUN useradd --create-home --uid 10001 herald \
    && mkdir -p /data /app \
    && chown herald:herald /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY jobs ./jobs
RUN pip install --no-compile .
COPY config.yaml ./

USER herald
VOLUME ["/data"]
ENTRYPOINT ["herald"]
CMD ["run"]
