"""The analysts' page: Hit@1 and Hit@3 of the diagnosis assistant in production, by specialty and month."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from tests.web_login import add_web_user, log_in

from medcity.ai.tables import ai_suggestion
from medcity.auth.users import Role
from medcity.kit.db import WRITE


def _shown(client: TestClient, specialty: str, month: int, ranked: list[str], chosen: str | None) -> None:
    app: Any = client.app
    with app.state.engine.connect().execution_options(**WRITE) as conn, conn.begin():
        conn.execute(ai_suggestion.insert().values(
            partition=app.state.settings.region, id=f"s{specialty}{month}{chosen}{len(ranked)}{ranked[0]}",
            created=datetime(2026, month, 15, 10, tzinfo=UTC), model_version="v1", specialty=specialty,
            suggested=json.dumps([{"code": c, "probability": 0.3} for c in ranked]), chosen=chosen,
        ))  # fmt: skip


def test_an_analyst_sees_hit_rates_by_specialty_and_month(client: TestClient) -> None:
    _shown(client, "cardiologist", 10, ["I10", "I20", "I25"], "I10")  # hit@1
    _shown(client, "cardiologist", 10, ["I20", "I10", "I25"], "I10.0")  # hit@3 only
    _shown(client, "cardiologist", 10, ["I20", "I25", "I48"], "I10")  # miss
    _shown(client, "cardiologist", 11, ["J06", "J20", "I10"], "J06.9")  # hit@1
    _shown(client, "cardiologist", 11, ["J06", "J20", "I10"], None)  # no choice yet: not counted
    add_web_user(client, "counter", Role.ANALYST)
    assert log_in(client, "counter") == "/analytics/suggestions"
    html = client.get("/analytics/suggestions", headers={"Accept-Language": "ru"}).text
    october = re.search(r'<tr class="accuracy-row" data-specialty="cardiologist" data-month="2026-10">.*?</tr>', html,
                        re.S)  # fmt: skip
    assert october, html
    assert "Кардиолог" in october.group(0)
    assert '<td class="num">3</td>' in october.group(0)
    assert "33.3 %" in october.group(0) and "66.7 %" in october.group(0)
    assert 'data-month="2026-11"' in html
    total = re.search(r'id="accuracy-total".*?</p>', html, re.S)
    assert total and "Hit@1 50.0 %" in total.group(0) and "Hit@3 75.0 %" in total.group(0)
    assert "Помощник диагноза на практике" in html


def test_other_roles_do_not_see_the_figures(client: TestClient) -> None:
    add_web_user(client, "anna", Role.PATIENT, patient="p1")
    log_in(client, "anna")
    assert client.get("/analytics/suggestions").status_code == 403
    client.cookies.clear()
    response = client.get("/analytics/suggestions", follow_redirects=False)
    assert response.status_code == 303
