"""The test suite's own layout (issue 15): one conftest, which only registers the fixture
modules; every shared fixture defined once, in tests/fixtures; helpers imported from
tests/support or tests/factories.py, never from a conftest or another test module; and no
test module quietly redefining a shared fixture (the eight `acme`s with four shapes)."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _modules() -> list[Path]:
    return sorted(TESTS.rglob("*.py"))


def _fixtures_defined(path: Path) -> list[str]:
    """Names of the functions in `path` decorated with pytest.fixture (with or without
    arguments, or a name= alias)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            target = call.func if call else decorator
            if ast.unparse(target) in ("pytest.fixture", "fixture"):
                alias = [k.value for k in (call.keywords if call else []) if k.arg == "name"]
                names.append(ast.literal_eval(alias[0]) if alias else node.name)
    return names


def _imported_modules(path: Path) -> list[str]:
    package = ".".join(path.relative_to(TESTS.parent).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                found.append(".".join([*base, node.module or ""]).rstrip("."))
            else:
                found.append(node.module or "")
            found += [f"{found[-1]}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return found


def test_the_only_conftest_registers_the_fixture_modules() -> None:
    conftests = [p.relative_to(TESTS).as_posix() for p in TESTS.rglob("conftest.py")]
    assert conftests == ["conftest.py"]
    assert _fixtures_defined(TESTS / "conftest.py") == []
    registered = ast.parse((TESTS / "conftest.py").read_text())
    plugins = next(
        ast.literal_eval(node.value)
        for node in registered.body
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "pytest_plugins"
    )
    modules = sorted(f"tests.fixtures.{p.stem}" for p in (TESTS / "fixtures").glob("[!_]*.py"))
    assert sorted(plugins) == modules


def test_each_shared_fixture_is_defined_once() -> None:
    defined: dict[str, list[str]] = {}
    for path in sorted((TESTS / "fixtures").glob("*.py")):
        for name in _fixtures_defined(path):
            defined.setdefault(name, []).append(path.name)
    assert {name: where for name, where in defined.items() if len(where) > 1} == {}


def test_no_test_module_redefines_a_shared_fixture() -> None:
    shared = {n for p in (TESTS / "fixtures").glob("*.py") for n in _fixtures_defined(p)}
    redefined = {
        path.relative_to(TESTS).as_posix(): sorted(set(_fixtures_defined(path)) & shared)
        for path in _modules()
        if "fixtures" not in path.relative_to(TESTS).parts
    }
    assert {path: names for path, names in redefined.items() if names} == {}


def test_helpers_come_from_support_and_factories_only() -> None:
    wrong = {}
    for path in _modules():
        bad = [
            module
            for module in _imported_modules(path)
            if module.startswith("tests.")
            and (
                "conftest" in module.split(".")
                or any(part.startswith("test_") for part in module.split(".")[1:])
            )
        ]
        if bad:
            wrong[path.relative_to(TESTS).as_posix()] = bad
    assert wrong == {}
