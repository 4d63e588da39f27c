from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from medcity.kit.db import make_engine
from medcity.store.repository import Store
from medcity.store.schema import metadata


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    metadata.create_all(engine)
    yield Store(engine, "77")
    engine.dispose()
