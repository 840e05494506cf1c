# One image for every component of the strangler-fig reference: the monolith, the extracted
# services, the proxy, the relays, the consumers, the worker, the SMTP sink and the one-shot
# commands. Which one a container runs is its command: `docker run IMAGE run proxy ...`.
# docker-compose.yml wires them together; docs/docker.md says how to run it.
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# A fixed, unprivileged user owns the virtualenv, the sources and the mail directory (the SMTP
# sink's --maildir, which a named volume copies ownership from on first use). Nothing runs as
# root after this layer, installs included.
RUN groupadd --gid 10001 strangler \
    && useradd --uid 10001 --gid strangler --create-home --shell /usr/sbin/nologin strangler \
    && install -d -o strangler -g strangler /opt/venv /app /var/mail
USER 10001:10001
WORKDIR /app
RUN python -m venv /opt/venv

# Step 1, cached until pyproject.toml or constraints.txt change: the runtime dependencies only
# (no dev extras), every one pinned by constraints.txt. pip cannot install the package itself
# without its sources, so its dependency list is read out of pyproject.toml instead.
COPY --chown=strangler:strangler pyproject.toml constraints.txt docker/requirements.py /app/
RUN python requirements.py pyproject.toml > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt requirements.py

# Step 2: the sources, then the package itself. Its dependencies are already there, so this
# only links the code. It is an editable install on purpose: the code finds migrations/ and
# contracts/ (Alembic environments, event schemas, pacts) next to its packages in the source
# tree (strangler_cli/databases.py, strangler_cli/consumers.py, strangler_contracts/pacts.py),
# and a regular install into site-packages would leave them behind.
# The sources are compiled here because PYTHONDONTWRITEBYTECODE keeps every container from
# writing (and so from keeping) its own bytecode: a dozen components start at once.
COPY --chown=strangler:strangler . /app
RUN pip install -c constraints.txt --editable . \
    && pip check \
    && python -m compileall -q /app \
    && strangler --help > /dev/null

# proxy (public, admin), monolith, catalog, notifications, SMTP sink
EXPOSE 8000 8001 8010 8020 8030 8025

ENTRYPOINT ["strangler"]
CMD ["--help"]
