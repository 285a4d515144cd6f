"""The SDK generator (sdk/generate.py), loaded as a module: it is a script, not a package."""

import importlib.util
from types import ModuleType

from tests.support.processes import REPO


def sdk_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sdk_generate", REPO / "sdk" / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
