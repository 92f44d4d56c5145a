"""The example project's settings (examples/django/mysite), plus two
views for the tests (example_urls)."""

from mysite.settings import *   # noqa: F401,F403

ROOT_URLCONF = "example_urls"
LOGGING = {"version": 1, "disable_existing_loggers": False}
