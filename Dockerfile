FROM python:3.11-slim

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
 && useradd --create-home app \
 && install -d -o app /var/lib/stripe-emulator
USER app
EXPOSE 8000
# Workers (WEB_CONCURRENCY, default 4) share their metrics through this directory.
ENV PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus-multiproc
CMD ["gunicorn", "-c", "python:saas.observability.gunicorn_conf", "config.wsgi"]
