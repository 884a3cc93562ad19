# betbot: by default a short simulated session; `docker-compose.yml` shows a live daemon.
#   docker build -t betbot .
#   docker run --rm -v betbot-data:/data betbot                       # the default: a simulated run
#   docker run --rm -v betbot-data:/data betbot run --max-bets 10000  # any betbot command line
#   docker compose -f docker-compose.serve.yml up -d                  # betbot serve: the web console

FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
# Only what the wheel needs: a change to the tests or docs does not rebuild this layer.
COPY pyproject.toml README.md /src/
COPY betbot /src/betbot
COPY strategies /src/strategies
# The notify extra (Apprise, loaded only when a notification URL is set) and the serve extra (`betbot serve`:
# the web console and the API) run from the same image.
RUN /opt/venv/bin/pip install "/src[notify,serve]"

FROM python:3.12-slim
RUN groupadd --system --gid 10001 betbot \
 && useradd --system --uid 10001 --gid betbot --home-dir /data --no-create-home --shell /usr/sbin/nologin betbot \
 && mkdir -p /data && chown betbot:betbot /data
COPY --from=build /opt/venv /opt/venv
# The shipped strategy files (inside the installed package) at a short path: --config /strategies/NAME.toml.
RUN ln -s "$(/opt/venv/bin/betbot strategies path)" /strategies
# Configuration is BETBOT_* environment variables (or flags); the journal and the learned minimum bets live
# in the /data volume.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    XDG_DATA_HOME=/data \
    BETBOT_JOURNAL=/data/journal.sqlite3 \
    BETBOT_HEARTBEAT_FILE=/tmp/betbot.heartbeat \
    BETBOT_LOG_FORMAT=json
VOLUME /data
# `betbot serve`'s console and API (publish it on loopback: docker-compose.serve.yml).
EXPOSE 8765
WORKDIR /data
USER betbot
# SIGTERM drains the bets in flight (bounded by --drain-timeout, 30 s by default); give `docker stop` longer.
STOPSIGNAL SIGTERM
# Healthy while the engine's loop turns and bets resolve (or it waits by choice: a back-off, a drain).
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 CMD ["betbot", "health", "--max-age", "90s"]
ENTRYPOINT ["betbot"]
CMD ["run", "--strategy", "flat", "--parallel", "--max-concurrent", "5", "--sim-latency", "5ms", \
     "--sim-jitter", "5ms", "--max-bets", "500", "--summary-json", "/data/summary.json"]
