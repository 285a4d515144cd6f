"""Multi-factor authentication on the API login (issue 16): TOTP and recovery codes through
django-allauth's mfa app (its Authenticator model and code logic), enrolled over the API, the
login's second step (a single-use challenge bound to the tenant host), and each
organization's policy requiring it of owners and admins."""
