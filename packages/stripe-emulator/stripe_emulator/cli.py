"""`stripe-emulator` (also `saas stripe-emulator`, `python -m stripe_emulator.cli`): serve until
Ctrl-C."""

from __future__ import annotations

import argparse

from .server import EmulatorServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="stripe-emulator", description="Offline Stripe API emulator for development."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--webhook-url", help="register this endpoint for all events")
    parser.add_argument("--webhook-secret", help="whsec_... secret to sign webhooks with")
    parser.add_argument("--state-file", help="persist state to this JSON file")
    parser.add_argument(
        "--public-url", help="base of the links to hosted pages (default: the address asked)"
    )
    args = parser.parse_args(argv)
    if args.webhook_url and not args.webhook_secret:
        parser.error("--webhook-url needs --webhook-secret")
    server = EmulatorServer(
        args.host,
        args.port,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        state_file=args.state_file,
        public_url=args.public_url,
    )
    print(f"Stripe emulator listening on {server.url}", flush=True)
    print(f"  export STRIPE_API_BASE={server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
