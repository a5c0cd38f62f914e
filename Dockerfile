# The store server image used by compose.yaml (docs/deploy.md). Build context: the repository.
FROM python:3.11-slim
WORKDIR /src
COPY pyproject.toml README.md ./
COPY neptune_sync ./neptune_sync
COPY neptune_sync_store ./neptune_sync_store
COPY daemon ./daemon
RUN pip install --no-cache-dir '.[postgres,s3]' && useradd --system neptune-sync
USER neptune-sync
EXPOSE 8470
ENTRYPOINT ["neptune-sync", "server", "--host", "0.0.0.0", "--port", "8470", "--data", "/tmp/neptune-sync-store"]
