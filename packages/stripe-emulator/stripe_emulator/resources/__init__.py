"""API resources; importing a module registers its routes (see routing.py)."""
