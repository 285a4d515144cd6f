"""Usage for tenants: GET /api/v1/usage/ (each metric of the current period against the plan,
a daily history and Stripe's preview of the next invoice) and soft-limit alerts by email at
80% and 100% of a limit, once per period each."""
