# syntax=docker/dockerfile:1
# waifu-bot: the Discord bot. Build: docker build -t waifu-bot .   Run: see docker-compose.yml.

# ---- build stage: compile nothing at runtime, ship only a ready virtual environment ----------------
FROM python:3.11-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# dependency layer first, so a code change does not reinstall numpy, onnxruntime and friends
COPY pyproject.toml README.md ./
RUN mkdir -p bot cogs models migrations \
    && touch bot/__init__.py cogs/__init__.py models/__init__.py migrations/__init__.py \
    && pip install ".[faces,postgres]" \
    && pip uninstall -y waifu-bot
COPY bot ./bot
COPY cogs ./cogs
COPY models ./models
COPY migrations ./migrations
RUN pip install --no-deps . && python -c "import bot.discord_adapter.client, cogs.identify, migrations"

# ---- runtime stage: the venv, a non-root user, two volumes -----------------------------------------
FROM python:3.11-slim-bookworm AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    WAIFU_DATA_DIR=/data \
    WAIFU_MODEL_CACHE_DIR=/models \
    HF_HOME=/models/huggingface

RUN groupadd --system --gid 10001 waifu \
    && useradd --system --uid 10001 --gid waifu --home-dir /data --shell /usr/sbin/nologin waifu \
    && mkdir -p /data /models \
    && chown waifu:waifu /data /models

COPY --from=build /opt/venv /opt/venv

USER waifu
WORKDIR /data
# /data: SQLite database, reference pictures, the generated palette tagger, the heartbeat file
# /models: downloaded hub models (Hugging Face cache)
VOLUME ["/data", "/models"]

# healthy while the bot is connected to the gateway (it touches /data/discord-heartbeat every 30 s)
HEALTHCHECK --interval=60s --timeout=10s --start-period=120s --retries=3 \
    CMD ["waifu-bot", "run", "--healthcheck"]

# SIGTERM (docker stop) drains in-flight pictures, closes the store and exits 0
STOPSIGNAL SIGTERM
ENTRYPOINT ["waifu-bot"]
CMD ["run"]
