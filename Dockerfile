# betbot: by default a short simulated session; `docker-compose.yml` shows a live daemon.
#   docker build -t betbot .
#   docker run --rm -v betbot-data:/data betbot                       # the default: a simulated run
#   docker run --rm -v betbot-data:/data betbot run --max-bets 10000  # any betbot command line
#   docker compose -f docker-compose.serve.yml up -d                  # betbot serve: the web console
#
# The base image. Pin it by digest for a reproducible build (`docker pull python:3.12-slim`, then
# `docker images --digests python` shows it), e.g.
#   docker build --build-arg PYTHON_IMAGE=python:3.12-slim@sha256:<digest> -t betbot .
# It is not pinned here: the digest could not be checked against the registry when this was written, and a
# wrong one would fail every build.
ARG PYTHON_IMAGE=python:3.12-slim

# -- build: a virtual environment with betbot and its dependencies, and nothing to build them with ----------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
RUN python -m venv /opt/venv
# The dependencies first (betbot's own and those of the extras the image runs: notify, serve), in a layer of
# their own, read from pyproject.toml alone: a change to betbot's code does not reinstall NumPy and the rest.
COPY pyproject.toml /src/
RUN python -c "import tomllib; p = tomllib.load(open('/src/pyproject.toml', 'rb'))['project']; \
print('\n'.join(p['dependencies'] + p['optional-dependencies']['notify'] + p['optional-dependencies']['serve']))" \
        >/src/requirements.txt \
 && /opt/venv/bin/pip install --quiet -r /src/requirements.txt
# Then betbot itself (its dependencies are there already), and pip and setuptools out of the environment.
COPY README.md /src/
COPY betbot /src/betbot
COPY strategies /src/strategies
# The notify extra (Apprise, loaded only when a notification URL is set) and the serve extra (`betbot serve`:
# the web console and the API) run from the same image: their packages are in the dependency layer above.
# The dependencies' own test suites (NumPy's are 17 MB) are never run here. The bytecode stays: the image
# sets PYTHONDONTWRITEBYTECODE, so without it every `betbot` (the health check every 30 s) would compile again.
RUN /opt/venv/bin/pip install --quiet --no-deps /src \
 && /opt/venv/bin/python -m pip uninstall --quiet --yes pip setuptools \
 && find /opt/venv/lib -type d -name tests -prune -exec rm -rf {} + \
 && /opt/venv/bin/betbot --version

# -- runtime: the base image, the environment, a user; no pip, setuptools or build tools ---------------------
FROM ${PYTHON_IMAGE}
# The base image's own installers go too: nothing in the image can install software.
RUN for dir in $(python -c "import site, sysconfig; print(' '.join({sysconfig.get_paths()['purelib'], *site.getsitepackages()}))"); do \
        rm -rf "$dir"/pip "$dir"/pip-* "$dir"/setuptools "$dir"/setuptools-* "$dir"/wheel "$dir"/wheel-* \
               "$dir"/_distutils_hack "$dir"/distutils-precedence.pth "$dir"/pkg_resources; \
    done \
 && rm -rf "$(python -c "import ensurepip, os; print(os.path.dirname(ensurepip.__file__))")/_bundled" \
           /usr/share/python-wheels \
 && rm -f /usr/local/bin/pip /usr/local/bin/pip3* /usr/bin/pip /usr/bin/pip3* \
 && groupadd --system --gid 10001 betbot \
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
