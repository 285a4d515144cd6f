"""An offline, stateful Stripe API emulator that the official `stripe` SDK talks to over HTTP.

Start it with `EmulatorServer().start()` (or `python -m saas.stripe_emulator.cli`) and point the
SDK at its `.url` (`stripe.api_base = url`, or `StripeClient(key, base_addresses=...)`).
"""
