"""An offline, stateful Stripe API emulator that the official `stripe` SDK talks to over HTTP.

Start it with `EmulatorServer().start()` (or the `stripe-emulator` command) and point the SDK
at its `.url` (`stripe.api_base = url`, or `StripeClient(key, base_addresses=...)`).
"""
