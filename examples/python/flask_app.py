"""The guide's Flask app, for Flask 3.

Flask 3 has no ``before_first_request``; the client is created lazily by the first request each
process serves instead. That is also what a pre-fork server needs: gunicorn imports this module in
its master (with --preload) and forks the workers, and the library must not be used across a
fork, so each worker connects its own client on its first request. The guide's
``teardown_appcontext`` hook runs after *every* request, so disconnecting there would close the
shared client after the first one; the client is closed when the process exits instead.

    KIMBERLITE_ADDRESSES=localhost:5432 gunicorn -w 2 --preload -b 127.0.0.1:8000 flask_app:app
    curl -X POST localhost:8000/events -H 'content-type: application/json' \
        -d '{"stream_id": 4294967297, "events": ["a", "b"]}'
"""

from __future__ import annotations

import atexit
import os
import threading
from typing import Any, Dict, Optional, Tuple

from flask import Flask, request

from kimberlite import Client, ClientClosed, DataClass, InvalidArgument, KimberliteError, StreamNotFound

from _settings import addresses

app = Flask(__name__)

# Initialized once per process, by the first request it serves
client: Optional[Client] = None
_client_lock = threading.Lock()


def get_client() -> Client:
    global client
    with _client_lock:
        # .closed is also true in a forked child holding its parent's client.
        if client is None or client.closed:
            client = Client.connect(addresses=addresses("localhost:5432"), tenant_id=1)
    return client


@app.route('/events', methods=['POST'])
def post_event() -> Dict[str, Any]:
    data = request.get_json()
    stream_id = int(data['stream_id'])
    events = [e.encode('utf-8') for e in data['events']]

    offset = get_client().append(stream_id, events)
    return {'offset': int(offset)}


@app.route('/streams', methods=['POST'])
def create_stream() -> Dict[str, Any]:
    data = request.get_json()
    stream_id = get_client().create_stream(data['name'], DataClass.NON_PHI)
    return {'stream_id': stream_id}


@app.route('/health')
def health() -> Dict[str, Any]:
    get_client().ping()
    return {'status': 'ok', 'pid': os.getpid()}


@app.errorhandler(KimberliteError)
def kimberlite_error(exc: KimberliteError) -> Tuple[Dict[str, Any], int]:
    if isinstance(exc, InvalidArgument):
        status = 400
    elif isinstance(exc, StreamNotFound):
        status = 404
    else:
        status = 503
    return {'error': exc.message, 'code': exc.code, 'retryable': exc.retryable}, status


@atexit.register
def cleanup() -> None:
    if client is not None:
        try:
            client.disconnect()
        except ClientClosed:
            pass


if __name__ == "__main__":
    app.run(port=int(os.environ.get("PORT", "8000")))
