"""Operations: Prometheus metrics, structured logs with request context, Sentry."""
