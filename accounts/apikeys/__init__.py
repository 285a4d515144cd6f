"""Scoped API keys of an organization: `sk_live_...` bearer keys that act as the member who
made them, narrowed by OAuth2's scope names (accounts.scopes)."""
