# The offline Stripe for `docker compose up` (its `stripe` service, target stripe-emulator):
# dev tooling in an image of its own, never in the app's.
FROM python:3.11-slim AS stripe-emulator

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /emulator

COPY constraints.txt ./
COPY packages/stripe-emulator ./stripe-emulator
RUN pip install --no-cache-dir -c constraints.txt ./stripe-emulator \
 && useradd --create-home app \
 && install -d -o app /var/lib/stripe-emulator
USER app
EXPOSE 12111
CMD ["stripe-emulator", "--host=0.0.0.0", "--state-file=/var/lib/stripe-emulator/state.json"]

# The app: what production runs, and only that (no `saas` dev command, offline Stripe,
# embedded PostgreSQL or Redis: those are in packages/). The last stage, so the default.
FROM python:3.11-slim AS app

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_ENV=production
WORKDIR /app

COPY pyproject.toml constraints.txt README.md ./
COPY config ./config
COPY tenants ./tenants
COPY accounts ./accounts
COPY billing ./billing
COPY saas ./saas
COPY api ./api
COPY manage.py ./
RUN pip install --no-cache-dir -c constraints.txt . \
 && SECRET_KEY=build-only JWT_SIGNING_KEY=build-only-signing-key-0123456789abcdef \
    python manage.py collectstatic --noinput \
 && useradd --create-home app
USER app
EXPOSE 8000
# Workers (WEB_CONCURRENCY, default 4) share their metrics through this directory.
ENV PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus-multiproc
CMD ["gunicorn", "-c", "python:saas.observability.gunicorn_conf", "config.wsgi"]
