"""The example project's settings (examples/django/mysite), plus two
views for the tests (testsite_urls)."""

from mysite.settings import *   # noqa: F401,F403

ROOT_URLCONF = "testsite_urls"
LOGGING = {"version": 1, "disable_existing_loggers": False}
