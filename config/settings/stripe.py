"""Stripe. With no STRIPE_SECRET_KEY, `saas dev` starts the offline emulator and points
STRIPE_API_BASE at it; an empty STRIPE_API_BASE means Stripe's own servers."""

from .env import env

STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
