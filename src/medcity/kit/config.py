"""Settings, read once from the environment (prefix MEDCITY_)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[3]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEDCITY_", extra="ignore")

    database_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'medcity.db'}"
    region: str = "77"
    base_url: str = "http://127.0.0.1:8000"
    max_body_bytes: int = 8 * 1024 * 1024
    default_page_size: int = 20
    max_page_size: int = 1000
    default_language: str = "ru"
    secret_dir: Path = PROJECT_ROOT / "var" / "keys"
    # A region's own settings over the shipped ones (medcity.registry.regions): how another region adopts medcity.
    regions_file: Path | None = None
    # On: the FHIR API answers nothing about anyone without a token the policy allows. Off (MEDCITY_AUTH_REQUIRED=
    # false), a call without a token is the local operator, audited as such: for test set-ups and benchmarks only.
    auth_required: bool = True
    # An external OpenID Connect issuer whose access tokens are trusted too, verified with its public keys from a
    # local file the operator keeps in sync with the issuer's jwks_uri (nothing is fetched at run time).
    oidc_issuer: str | None = None
    oidc_jwks_file: Path | None = None
    # Access policy: how far back an appointment, encounter or referral makes a care relationship; how long a
    # break-glass opens a record; the ICD-10 ranges a patient may restrict by consent.
    care_window_days: int = 365
    break_glass_minutes: int = 60
    sensitive_categories: str = "F00-F99,A50-A64,B20-B24"


@lru_cache
def get_settings() -> Settings:
    return Settings()
