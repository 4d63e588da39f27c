from __future__ import annotations

from pathlib import Path

import pytest

from medcity.ai import service
from medcity.ai.train import DEFAULT_DATA_DIR

DEV = DEFAULT_DATA_DIR / "dev.jsonl"


@pytest.fixture(scope="session")
def model() -> service.Model:
    return service.get_model()


@pytest.fixture(scope="session")
def dev_path() -> Path:
    if not DEV.exists():
        pytest.skip(f"RuMedTop3 dev split not found at {DEV}")
    return DEV
