"""The console's browser-less users, for the system tests that look at pages."""

from tests.web.console.conftest import make_user  # noqa: F401  (a fixture)
