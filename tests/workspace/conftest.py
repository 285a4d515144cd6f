from tests.workspace.fixtures import Org, acme, beta, make_org

__all__ = ["Org", "acme", "beta", "make_org"]
