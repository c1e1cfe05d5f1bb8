"""Suite-wide collection order: the slow files first.

``make test`` runs one test file per worker process (pytest-xdist, ``--dist loadfile``), handed out in
collection order: a slow file collected last (the Spark files sort late) runs alone at the end while the
other workers idle. Moving the files holding a test marked ``spark`` or ``slow`` to the front starts them
first; each file's tests stay together and in their order (a module's fixtures are set up once).
"""

from __future__ import annotations

import pytest

_FIRST_MARKS = ("spark", "slow")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files holding a test marked spark or slow first (stable: files and tests keep their order)."""
    slow = {item.path for item in items if any(item.get_closest_marker(m) for m in _FIRST_MARKS)}
    items.sort(key=lambda item: item.path not in slow)
