"""Shared fixtures: the real public data beside the checkout, and an isolated model cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real datasets in ../shared/data (CI has them too); tests that need them skip without."""
    path = Path(os.environ.get("CODEMIX_SHARED_DATA", REPO.parent / "shared" / "data"))
    if not path.is_dir():
        pytest.skip(f"shared data not found at {path}")
    return path


# Tiny twins are built once into a cache inside the checkout (ignored by git), shared by all
# tests and by the Ray workers they start (workers inherit this environment).
os.environ.setdefault("CODEMIX_HOME", str(REPO / ".cache" / "codemix"))
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S", "30")
os.environ.setdefault("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "0.2")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# pytest-xdist's workers start with COLUMNS=80 and LINES=24; rich's Console fixes its width from COLUMNS when it
# is created (at import), after which the CLI tests' COLUMNS (CliRunner's env) would no longer widen it
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)


def module_seconds(item) -> float:
    """About how long the item's module takes (the ``seconds`` of a ``slow`` mark in it; 0 without)."""
    mark = item.get_closest_marker("slow")
    return mark.kwargs.get("seconds", 0) if mark else 0


def pytest_collection_modifyitems(config, items):
    """The longest modules first: pytest-xdist hands each worker whole modules in this order (--dist loadfile
    --no-loadscope-reorder; without the latter it sorts them by their number of tests), so the suite does not end on
    one long module while the other worker idles."""
    weight: dict[str, float] = {}
    for item in items:
        weight[item.module.__name__] = max(weight.get(item.module.__name__, 0), module_seconds(item))
    items.sort(key=lambda item: -weight[item.module.__name__])


@pytest.fixture(scope="module")
def ray_cluster():
    """A real local Ray cluster (2 CPUs) for the tests of one module, shut down afterwards."""
    import ray

    from codemix.runtime import init_ray

    init_ray(num_cpus=2)
    yield ray
    ray.shutdown()
