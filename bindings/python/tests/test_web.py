"""The guide's Flask app (test client, and real gunicorn pre-fork workers) and Django view."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

from kimberlite import Client, DataClass
from procs import REPO, Server, free_port_run, wait_for

EXAMPLES = REPO / "examples" / "python"
flask = pytest.importorskip("flask")


@pytest.fixture
def flask_app(server: Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("KIMBERLITE_ADDRESSES", server.addr)
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import flask_app as module

    yield module
    module.cleanup()
    module.client = None


def test_flask_app(flask_app: Any, stream_name: str) -> None:
    web = flask_app.app.test_client()
    sid = web.post("/streams", json={"name": stream_name}).get_json()["stream_id"]
    r1 = web.post("/events", json={"stream_id": str(sid), "events": ["a", "b"]})
    r2 = web.post("/events", json={"stream_id": sid, "events": ["ü"]})
    assert r1.status_code == 200 and r1.get_json() == {"offset": 0}
    assert r2.get_json() == {"offset": 2}
    assert web.get("/health").get_json()["status"] == "ok"
    # One client serves every request (the guide's point): still the same object.
    first = flask_app.client
    web.post("/events", json={"stream_id": sid, "events": ["c"]})
    assert flask_app.client is first and not first.closed
    missing = web.post("/events", json={"stream_id": 999999, "events": ["x"]})
    assert missing.status_code == 404 and missing.get_json()["code"] == "KMB_ERR_STREAM_NOT_FOUND"
    empty = web.post("/events", json={"stream_id": sid, "events": []})
    assert empty.status_code == 400 and empty.get_json()["code"] == "KMB_ERR_INVALID_ARGUMENT"
    assert [e.data for e in first.read_all(sid)] == [b"a", b"b", "ü".encode(), b"c"]
    flask_app.cleanup()
    assert first.closed


def http(method: str, url: str, body: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())  # type: ignore[no-any-return]


def loads_library(pid: int) -> bool:
    try:
        return "libkimberlite" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def children(pid: int) -> List[int]:
    out: List[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        out.extend(int(p) for p in text)
    return out


def test_gunicorn_prefork_workers(server: Server, stream_name: str) -> None:
    pytest.importorskip("gunicorn")
    port = free_port_run(1)
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, KIMBERLITE_ADDRESSES=server.addr,
               PYTHONPATH=os.pathsep.join([str(REPO / "bindings" / "python"), str(EXAMPLES)]))
    # --preload: the master imports the app (and kimberlite) before forking the workers.
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--preload", "--bind", f"127.0.0.1:{port}",
         "--chdir", str(EXAMPLES), "--graceful-timeout", "10", "flask_app:app"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        def up() -> bool:
            try:
                return http("GET", base + "/health")["status"] == "ok"
            except (urllib.error.URLError, ConnectionError):
                return False

        wait_for(up, 60, "gunicorn to serve")
        sid = http("POST", base + "/streams", {"name": stream_name})["stream_id"]
        offsets = [http("POST", base + "/events", {"stream_id": sid, "events": [f"e{i}"]})["offset"] for i in range(30)]
        assert sorted(offsets) == list(range(30))
        # gunicorn forks its workers one after the other: one may have served every request
        # before the other is up.
        def both_workers() -> List[int]:
            found = children(proc.pid)
            return found if len(found) == 2 else []

        workers = wait_for(both_workers, 30, "gunicorn's 2 workers")
        assert not loads_library(proc.pid), "the gunicorn master loaded libkimberlite before forking"
        assert any(loads_library(w) for w in workers)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "Traceback" not in err, err
        assert "Worker (pid:" not in err, err  # a worker killed by a signal or failed, and replaced
        with Client.connect(addresses=[server.addr], tenant_id=1) as c:
            assert sorted(e.data for e in c.read_all(sid)) == sorted(f"e{i}".encode() for i in range(30))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_django_view(server: Server, stream_name: str) -> None:
    pytest.importorskip("django")
    site = EXAMPLES / "django_site"
    script = f"""
import json, django
django.setup()
from django.test import Client as Web
web = Web()
r1 = web.post("/events", data=json.dumps({{"stream": {stream_name!r}, "events": ["a", "b"]}}), content_type="application/json")
r2 = web.post("/events", data=json.dumps({{"stream": {stream_name!r}, "events": ["c"]}}), content_type="application/json")
from kimberlite_site import settings
c1 = settings.get_kimberlite_client()
assert settings.get_kimberlite_client() is c1
print(json.dumps([r1.status_code, r1.json(), r2.json()]))
"""
    env = dict(os.environ, KIMBERLITE_ADDRESSES=server.addr, DJANGO_SETTINGS_MODULE="kimberlite_site.settings",
               PYTHONPATH=os.pathsep.join([str(REPO / "bindings" / "python"), str(site)]))
    res = subprocess.run([sys.executable, "-c", script], cwd=site, env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    status, first, second = json.loads(res.stdout.strip().splitlines()[-1])
    assert status == 200 and first["offset"] == 0 and second == {"stream_id": first["stream_id"], "offset": 2}
