# Full-mode image: daphne (web), Celery worker and beat all run from it; see
# docker-compose.yml. Static files and the pt-BR catalogue are built in.

# --- front-end packages (bootstrap, htmx, chart.js), served as static files ----
FROM node:20-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# --- the application -------------------------------------------------------------
FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    PATH=/app/.venv/bin:$PATH \
    VAR_DIR=/app/var \
    MEDIA_ROOT=/data/media

# gettext: msgfmt for compilemessages.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/* \
    && pip install --no-cache-dir uv

WORKDIR /app
COPY pyproject.toml uv.lock .python-version ./
RUN uv sync --frozen --no-dev --no-install-project

COPY --from=assets /app/node_modules ./node_modules
COPY . .

# Build-time only values: the real SECRET_KEY comes from the environment at run time.
RUN if find . -path ./.venv -prune -o -path ./node_modules -prune -o -name '*.po' -print | grep -q .; then \
        DEBUG=0 SECRET_KEY=build-only python manage.py compilemessages --ignore=.venv --ignore=node_modules; \
    fi \
    && DEBUG=0 SECRET_KEY=build-only python manage.py collectstatic --noinput -v 0

RUN useradd --system --uid 10001 --home-dir /app app \
    && mkdir -p /data/media \
    && chown -R app /app/var /data/media
USER app

EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "--proxy-headers", "servicedesk.asgi:application"]
