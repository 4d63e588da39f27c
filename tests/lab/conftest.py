from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.lab.city import City, make_city


@pytest.fixture
def city(client: TestClient) -> City:
    return make_city(client)
