from tests.observability.conftest import production_env

__all__ = ["production_env"]
