"""The guide's Django settings: one lazily created client per process.

Django copies only UPPERCASE names of this module into ``django.conf.settings``, so the guide's
``settings.get_kimberlite_client()`` cannot be reached through ``django.conf.settings``; views
import the function from this module instead (see views.py). The client is created on first use
in each process, which keeps pre-fork servers (gunicorn, uWSGI) safe: nothing native is loaded
before the fork.
"""

import threading

from kimberlite import Client

import os

SECRET_KEY = "example-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "kimberlite_site.urls"
INSTALLED_APPS: list = []
DATABASES: dict = {}
USE_TZ = True

KIMBERLITE_ADDRESSES = [a for a in os.environ.get("KIMBERLITE_ADDRESSES", "localhost:5432").split(",") if a]

KIMBERLITE_CLIENT = None
_KIMBERLITE_LOCK = threading.Lock()


def get_kimberlite_client():
    global KIMBERLITE_CLIENT
    with _KIMBERLITE_LOCK:
        # .closed is also true in a forked child that inherited its parent's client.
        if KIMBERLITE_CLIENT is None or KIMBERLITE_CLIENT.closed:
            KIMBERLITE_CLIENT = Client.connect(
                addresses=KIMBERLITE_ADDRESSES,
                tenant_id=1
            )
    return KIMBERLITE_CLIENT
