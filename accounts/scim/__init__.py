"""SCIM 2.0 provisioning (RFC 7643/7644): an organization's identity provider creates,
updates, deactivates and removes its members at /scim/v2/ on the organization's host, with a
bearer token the organization's admins make at /api/v1/scim/tokens/."""
