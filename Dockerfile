# The Tidings image used by docker-compose.yml: the same install as `make install`, without the dev tools.
FROM python:3.11-slim
# pg_dump/pg_restore for `tidings backup` and `tidings restore` on PostgreSQL.
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --home-dir /var/lib/tidings tidings
WORKDIR /opt/tidings
COPY pyproject.toml README.md ./
COPY src ./src
# torch first and pinned, so that sentence-transformers does not pull a CUDA build (as in the Makefile).
RUN pip install --no-cache-dir torch==2.13.0 && pip install --no-cache-dir '.[nlp,postgres]'
USER tidings
ENV TIDINGS_HOME=/var/lib/tidings
EXPOSE 8000
CMD ["tidings", "serve", "--host", "0.0.0.0", "--port", "8000"]
