"""The accounts app's models, one module per concern: people and their memberships
(team.py), and the OAuth2 application model swapped in for django-oauth-toolkit's (oauth.py).
Django loads an app's models from this package."""

from ..roles import Role
from .oauth import OAuthApplication
from .team import Invitation, Membership, User, UserManager

__all__ = ["Invitation", "Membership", "OAuthApplication", "Role", "User", "UserManager"]
