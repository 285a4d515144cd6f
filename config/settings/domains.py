"""Custom domains (tenants.domains): how a tenant's own host name is verified before it routes."""

from .env import IS_DEV_OR_TEST, env

# Nameservers the DNS TXT check asks (IP addresses), and their port; none: the system's
# resolver (/etc/resolv.conf). Tests point these at a DNS server of their own on loopback.
CUSTOM_DOMAINS_DNS_NAMESERVERS = env.list("CUSTOM_DOMAINS_DNS_NAMESERVERS", default=[])
CUSTOM_DOMAINS_DNS_PORT = env.int("CUSTOM_DOMAINS_DNS_PORT", default=53)
# The port the HTTP check connects to (80 in production: what a customer's server listens on).
CUSTOM_DOMAINS_HTTP_PORT = env.int("CUSTOM_DOMAINS_HTTP_PORT", default=80)
# Seconds each check may take (DNS lifetime; HTTP connect and each read).
CUSTOM_DOMAINS_CHECK_TIMEOUT = env.float("CUSTOM_DOMAINS_CHECK_TIMEOUT", default=5.0)
# The HTTP check connects to addresses the host name resolves to: outside dev and test never
# to private, loopback, link-local or otherwise non-global ones (SSRF into our own network).
CUSTOM_DOMAINS_ALLOW_PRIVATE_ADDRESSES = env.bool(
    "CUSTOM_DOMAINS_ALLOW_PRIVATE_ADDRESSES", default=IS_DEV_OR_TEST
)
# How many custom domains one organization may add.
CUSTOM_DOMAINS_PER_TENANT = env.int("CUSTOM_DOMAINS_PER_TENANT", default=20)
