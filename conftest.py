"""Suite-wide rule: every test declares its kind (unit, integration or e2e).

``make test`` selects tests by these markers, so a test without one would silently never run.
"""

import pytest

KINDS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    unmarked = [item.nodeid for item in items if not any(item.get_closest_marker(k) for k in KINDS)]
    if unmarked:
        raise pytest.UsageError(f"tests without a unit/integration/e2e marker: {unmarked}")
