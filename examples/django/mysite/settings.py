"""Settings of the replroute example: one connection string for the whole
cluster, from the environment."""

import os

from replroute.django import databases

BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "replroute-example-key-not-for-production")
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "notes",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "replroute.django.SessionTokenMiddleware",     # after SessionMiddleware
]

ROOT_URLCONF = "mysite.urls"
WSGI_APPLICATION = "mysite.wsgi.application"

# every node of the cluster, primary and standbys, in one libpq string
DATABASES = databases(
    os.environ.get("REPLROUTE_CONNINFO", "host=localhost dbname=app"),
    base={"CONN_MAX_AGE": 60},
    options=os.environ.get("REPLROUTE_OPTIONS", "max_lag_seconds=0.5s causal_wait=200ms"),
)
DATABASE_ROUTERS = ["replroute.django.ReplrouteRouter"]
REPLROUTE = {"TOKEN_STORE": os.environ.get("REPLROUTE_TOKEN_STORE", "auto")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"replroute": {"handlers": ["stderr"], "level": "WARNING"}},
}
