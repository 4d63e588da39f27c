from tests.lab.conftest import city  # noqa: F401  (the same small city for the ordering tests)
