"""Outbound webhooks (saas.webhooks_out): where endpoints may point, how long a delivery may
take, and how failed deliveries are retried."""

from .env import IS_DEV_OR_TEST, env

# Loopback endpoints (and plain http, to loopback only) in dev and test; never elsewhere.
# Private, link-local, multicast and reserved addresses are refused everywhere.
WEBHOOKS_ALLOW_LOOPBACK = env.bool("WEBHOOKS_ALLOW_LOOPBACK", default=IS_DEV_OR_TEST)
# Only loopback endpoints at all: the test suite sets it, so no test (nor the fuzzer) can make
# a worker send anything off this machine.
WEBHOOKS_LOOPBACK_ONLY = env.bool("WEBHOOKS_LOOPBACK_ONLY", default=False)
# Seconds to connect, for each read, and for the whole answer, per attempt.
WEBHOOKS_TIMEOUT_SECONDS = env.float("WEBHOOKS_TIMEOUT_SECONDS", default=5.0)
# Bytes of a receiver's answer read (and kept as the attempt's excerpt); the rest is not read.
WEBHOOKS_RESPONSE_MAX_BYTES = env.int("WEBHOOKS_RESPONSE_MAX_BYTES", default=4096)
# Seconds before each retry of a failed delivery (the first attempt is at once): Svix's
# schedule, extended to about 3 days (5 s, 5 min, 30 min, 2 h, 5 h, then 10 h six times).
WEBHOOKS_RETRY_SCHEDULE = [
    int(seconds)
    for seconds in env.list(
        "WEBHOOKS_RETRY_SCHEDULE",
        default=["5", "300", "1800", "7200", "18000", *["36000"] * 6],
    )
]
# After a secret rotation the previous secret signs beside the new one this long.
WEBHOOKS_SECRET_OVERLAP_SECONDS = env.int("WEBHOOKS_SECRET_OVERLAP_SECONDS", default=86400)
# Endpoints one organization may register (Lago allows 10).
WEBHOOKS_ENDPOINTS_PER_TENANT = env.int("WEBHOOKS_ENDPOINTS_PER_TENANT", default=10)
