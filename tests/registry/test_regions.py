"""A region's settings are data: the shipped regions, and a region adopting medcity from its own file, every
mistake in which is named with its place before a server starts on it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medcity.cli import app
from medcity.kit.errors import InvalidRequest
from medcity.registry.catalogue import FIRST_CONTACT
from medcity.registry.regions import DEFAULT_REGION, RegionsFileError, read, region, region_of, regions

NOVOSIBIRSK = """
[54]
name = { ru = "Новосибирская область", en = "Novosibirsk Oblast" }
okato = "50"
timezone = "Asia/Novosibirsk"
self_bookable = ["therapist-district", "paediatrician", "cardiologist"]

[54.booking]
booking_window_days = 7

[54.prescriptions]
validity_days = 30

[78]
name = { ru = "Санкт-Петербург", en = "Saint Petersburg" }
okato = "40"

[78.risk]
cvd_risk_region = "high"
"""


@pytest.mark.parametrize("code", ["77", "78"])
def test_the_shipped_regions_book_first_contact_specialties_directly(code: str) -> None:
    shipped = region(code)
    assert shipped.timezone == "Europe/Moscow"
    assert shipped.self_bookable == FIRST_CONTACT
    assert {"therapist-district", "dentist"} <= shipped.self_bookable
    assert not {"cardiologist", "endocrinologist"} & shipped.self_bookable
    assert shipped.prescriptions.validity_days == 60
    assert shipped.risk.cvd_risk_region == "very_high"


def test_an_unknown_region_is_an_error_or_the_defaults_for_a_test_partition() -> None:
    with pytest.raises(InvalidRequest, match="Unknown region '99': known regions are 77, 78"):
        region("99")
    assert region_of("t12345") is DEFAULT_REGION
    assert DEFAULT_REGION.booking.horizon_days == 14


def test_a_region_file_adds_regions_and_replaces_a_shipped_one(own_regions: Callable[[str], Path]) -> None:
    own_regions(NOVOSIBIRSK)
    assert set(regions()) == {"77", "78", "54"}
    novosibirsk = region("54")
    assert novosibirsk.name.ru == "Новосибирская область"
    assert novosibirsk.timezone == "Asia/Novosibirsk"
    assert novosibirsk.self_bookable == {"therapist-district", "paediatrician", "cardiologist"}
    # What the file leaves out takes the default, section by section.
    assert (novosibirsk.booking.booking_window_days, novosibirsk.booking.horizon_days) == (7, 14)
    assert (novosibirsk.prescriptions.validity_days, novosibirsk.prescriptions.annul_hours) == (30, 24)
    # A region of the file replaces the shipped one whole: St Petersburg's other settings are the defaults.
    assert region("78").risk.cvd_risk_region == "high"
    assert region("78").self_bookable == FIRST_CONTACT
    assert region("77").risk.cvd_risk_region == "very_high"


def test_every_mistake_in_a_file_is_named_with_its_place(tmp_path: Path) -> None:
    path = tmp_path / "regions.toml"
    path.write_text(
        """
[54]
name = { ru = "Новосибирская область", en = "Novosibirsk Oblast" }
okato = "5"
timezone = "Asia/Novosibirk"
self_bookable = ["therapist-district", "astrologer", "pharmacist"]
queue = "fair"

[54.booking]
horizon_days = 0
no_show_limit = "three"

[54.risk]
cvd_risk_region = "extreme"

[55]
okato = "52"
""",
        encoding="utf-8",
    )
    with pytest.raises(RegionsFileError) as refused:
        read(path)
    said = str(refused.value)
    for place in ("54.okato", "54.timezone", "54.self_bookable", "54.queue", "54.booking.horizon_days",
                  "54.booking.no_show_limit", "54.risk.cvd_risk_region", "55.name"):  # fmt: skip
        assert f"{path}: {place}:" in said
    assert "unknown time zone 'Asia/Novosibirk'" in said
    assert "astrologer, pharmacist" in said


@pytest.mark.parametrize(
    ("text", "says"),
    [("[54\nname = 1", "not TOML"), ("54 = 7", "a region is a table ([54])")],
)
def test_a_file_that_is_not_a_regions_file_is_refused(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "regions.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RegionsFileError, match=says.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        read(path)
    with pytest.raises(RegionsFileError, match="cannot be read"):
        read(tmp_path / "missing.toml")


def test_the_commands_check_a_file_and_show_a_region(own_regions: Callable[[str], Path], tmp_path: Path) -> None:
    runner = CliRunner()
    path = own_regions(NOVOSIBIRSK)
    checked = runner.invoke(app, ["region", "check", str(path)])
    assert checked.exit_code == 0, checked.output
    assert "2 region(s) usable: 54, 78" in checked.output
    assert "they replace the shipped settings of: 78" in checked.output
    shown = runner.invoke(app, ["region", "show", "--region", "54"])
    assert shown.exit_code == 0, shown.output
    settings = json.loads(shown.output)
    assert settings["timezone"] == "Asia/Novosibirsk"
    assert settings["self_bookable"] == ["cardiologist", "paediatrician", "therapist-district"]
    assert settings["booking"]["booking_window_days"] == 7
    broken = tmp_path / "broken.toml"
    broken.write_text('[54]\nname = { ru = "Н", en = "N" }\nokato = "50"\ntimezone = "Mars/Olympus"\n')
    refused = runner.invoke(app, ["region", "check", str(broken)])
    assert refused.exit_code == 2
    assert "54.timezone: Value error, unknown time zone 'Mars/Olympus'" in refused.output


def test_serve_refuses_a_region_it_has_no_settings_for(
    own_regions: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    own_regions(NOVOSIBIRSK)
    monkeypatch.setenv("MEDCITY_REGION", "66")
    from medcity.kit.config import get_settings

    get_settings.cache_clear()
    refused = CliRunner().invoke(app, ["serve", "--port", "1"])
    assert refused.exit_code == 2
    assert "Unknown region '66': known regions are 54, 77, 78" in refused.output
    assert "MEDCITY_REGIONS_FILE" in refused.output
