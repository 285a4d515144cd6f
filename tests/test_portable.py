"""The checkout works anywhere: nothing in it points into one machine's directories."""

import re
import shutil
import subprocess

import pytest

from tests.support.processes import REPO

# An absolute path into a home directory, a workspace or a mount of one machine,
# not part of a URL or a longer path. System and image paths (/usr, /var/lib, /tmp) are fine.
MACHINE_PATH = re.compile(r"(?<![\w.~/-])/(?:work|root|home|Users|mnt)/")


def repository_files() -> list[str]:
    """Tracked files and new ones not ignored: what a clone or the next commit holds."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],  # noqa: S607
        cwd=REPO,
        capture_output=True,
        check=True,
    )
    return [name for name in listed.stdout.decode().split("\0") if name]


def test_no_file_names_a_path_on_the_development_machine() -> None:
    found = []
    for name in repository_files():
        path = REPO / name
        if not path.is_file():  # deleted in the working tree, not yet in the index
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:  # binary
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if MACHINE_PATH.search(line):
                found.append(f"{name}:{number}: {line.strip()}")
    assert not found, "absolute paths into this machine:\n" + "\n".join(found)


# The paths are cut in two so that this file passes its own test.
@pytest.mark.parametrize(
    ("line", "machine_path"),
    [
        ('FIXTURES = Path("/' + 'work/shared/stripe/fixtures3.json")', True),
        ("cd /" + "home/ada/src && make", True),
        ("cache = '/" + "root/.cache/x'", True),
        ("curl http://localhost:8000/api/v1/home/", False),
        ("volumes: [pgdata:/var/lib/postgresql/data]", False),
        ("ENV PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus-multiproc", False),
        ("see docs/work/ or ./home/", False),
    ],
)
def test_what_counts_as_a_machine_path(line: str, machine_path: bool) -> None:
    assert bool(MACHINE_PATH.search(line)) is machine_path
