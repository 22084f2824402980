from pathlib import Path

import pytest
from gitrepo import make_tree

from harness.kernel.source import KernelTree

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def golden() -> Path:
    return GOLDEN


@pytest.fixture
def tree(tmp_path: Path) -> KernelTree:
    """A tiny git repository standing in for a harness-owned kernel tree."""
    return make_tree(tmp_path / "src" / "linux")
