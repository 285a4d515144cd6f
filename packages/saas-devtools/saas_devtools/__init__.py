"""The `saas` command of a checkout (`make run`, `make test`, `make bench`): dev tooling, never
installed in production."""
