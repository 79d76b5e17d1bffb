# The one image behind compose.yaml's migrate, api, ws, worker and scheduler services.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=backend.settings

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so that a code change does not reinstall them.
COPY pyproject.toml ./
RUN mkdir backend && touch backend/__init__.py \
    && pip install . \
    && pip uninstall -y backend \
    && rm -rf backend build backend.egg-info

COPY manage.py ./
COPY backend ./backend
COPY deploy/healthcheck.py ./deploy/healthcheck.py
RUN pip install --no-deps . && rm -rf build backend.egg-info

# The volumes mounted here start out owned by the image's directories: the app user's.
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home --shell /usr/sbin/nologin app \
    && mkdir -p /srv/static /srv/media /srv/var \
    && chown app:app /srv/static /srv/media /srv/var
USER app

EXPOSE 8000 8001
# compose.yaml's `api` command is the one that runs; this is the same server, for an image started alone.
CMD ["gunicorn", "backend.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", \
     "--worker-class", "backend.core.gunicorn_worker.BalancedThreadWorker"]
