"""localstripe as a real Stripe double, and the app served on a loopback port so it can call us.

`localstripe_server` (session scope) runs localstripe in a subprocess on a free
127.0.0.1 port, with its own state file (localstripe itself always writes
/tmp/localstripe.pickle, which parallel runs would share). `stripe_app` points the
app at it, serves the app from a thread on a free port, and registers that URL as
localstripe's webhook through POST /_config/webhooks/{id}.

The server thread runs in the test process, so time-machine moves its clock too.
"""

import os
import select
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import pytest
import requests
import stripe
from werkzeug.serving import make_server

from tests.helpers import as_participant

SECRET_KEY = "sk_test_localstripe"
PUBLISHABLE_KEY = "pk_test_localstripe"
WEBHOOK_SECRET = "whsec_test_scheduler"
START_TIMEOUT = 30

# Run localstripe on 127.0.0.1 only, on a port the OS picks, with its state in argv[1].
_RUNNER = r"""
import pickle, socket, sys
import localstripe.resources as resources

state_path = sys.argv[1]

def dump_to_disk(self):
    with open(state_path, "wb") as f:
        pickle.dump(self, f, protocol=pickle.HIGHEST_PROTOCOL)

def try_load_from_disk(self):
    pass

resources.Store.dump_to_disk = dump_to_disk
resources.Store.try_load_from_disk = try_load_from_disk

from aiohttp import web
from localstripe.server import app

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.bind(("127.0.0.1", 0))
print(sock.getsockname()[1], flush=True)
web.run_app(app, sock=sock, print=None)
"""


def wait_until(predicate, timeout: float = 15.0, interval: float = 0.1, what: str = "condition"):
    """Poll `predicate` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@dataclass
class LocalStripe:
    url: str
    process: subprocess.Popen

    def _call(self, method: str, path: str, data: dict | None = None, key: str = SECRET_KEY) -> dict:
        response = requests.request(
            method, self.url + path, data=data, headers={"Authorization": f"Bearer {key}"}, timeout=10
        )
        return (
            {"status": response.status_code, **response.json()}
            if response.content
            else {"status": response.status_code}
        )

    def register_webhook(self, webhook_id: str, url: str, secret: str = WEBHOOK_SECRET) -> None:
        response = requests.post(
            f"{self.url}/_config/webhooks/{webhook_id}", data={"url": url, "secret": secret}, timeout=10
        )
        response.raise_for_status()

    def payment_intent(self, intent_id: str) -> dict:
        return self._call("GET", f"/v1/payment_intents/{intent_id}")

    def pay(self, intent_id: str, payment_method: str) -> dict:
        """What Stripe.js does in the browser: attach a card, then confirm.

        localstripe does not take a payment method at confirm, so it is set by an update first.
        """
        self._call("POST", f"/v1/payment_intents/{intent_id}", {"payment_method": payment_method})
        return self._call("POST", f"/v1/payment_intents/{intent_id}/confirm")

    def authenticate_3ds(self, intent_id: str, client_secret: str, success: bool = True) -> dict:
        """The person passes (or fails) the 3-D Secure challenge."""
        return self._call(
            "POST",
            f"/v1/payment_intents/{intent_id}/_authenticate",
            {"client_secret": client_secret, "success": "true" if success else "false", "key": PUBLISHABLE_KEY},
            key="",
        )

    def refunds_for(self, intent_id: str) -> list[dict]:
        """Every refund of this intent (filtered here: localstripe's filter fails on unpaid intents)."""
        charge = (self.payment_intent(intent_id).get("latest_charge") or {}).get("id")
        refunds = self._call("GET", "/v1/refunds?limit=100")["data"]
        return [r for r in refunds if r["payment_intent"] == intent_id or (charge and r["charge"] == charge)]

    def events_about(self, object_id: str, event_type: str) -> list[dict]:
        """Every event of a type about one object, paging through localstripe's whole history
        (it lists oldest first, ten at a time by default)."""
        found, after = [], None
        while True:
            query = f"/v1/events?type={event_type}&limit=100" + (f"&starting_after={after}" if after else "")
            page = self._call("GET", query)
            found += [e for e in page["data"] if e["data"]["object"]["id"] == object_id]
            if not page.get("has_more") or not page["data"]:
                return found
            after = page["data"][-1]["id"]

    def charge(self, charge_id: str) -> dict:
        return self._call("GET", f"/v1/charges/{charge_id}")

    def dashboard_refund(self, intent_id: str, amount: int) -> dict:
        """A refund made in Stripe's dashboard (outside the app)."""
        return self._call("POST", "/v1/refunds", {"payment_intent": intent_id, "amount": amount})


@pytest.fixture(scope="session")
def localstripe_server(tmp_path_factory):
    """localstripe on a free loopback port, with its own state file; stopped after the run."""
    state = tmp_path_factory.mktemp("localstripe") / "state.pickle"
    process = subprocess.Popen(
        [sys.executable, "-c", _RUNNER, str(state)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT)
        if not ready:
            raise RuntimeError("localstripe did not start")
        port = int(process.stdout.readline())
        url = f"http://127.0.0.1:{port}"

        def answers():
            try:
                return (
                    requests.get(
                        url + "/v1/balance", headers={"Authorization": f"Bearer {SECRET_KEY}"}, timeout=2
                    ).status_code
                    == 200
                )
            except requests.ConnectionError:
                return False

        wait_until(answers, START_TIMEOUT, what="localstripe to answer")
        yield LocalStripe(url, process)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


class LiveServer:
    """The app served by werkzeug from a thread on a free 127.0.0.1 port."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "LiveServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(10)


class StripeProxy(LiveServer):
    """A served stand-in between the app and localstripe: `on_request(request)` sees (and may
    hold up) each call before it is passed on, as a recording or slow network would."""

    def __init__(self, localstripe: "LocalStripe", on_request):
        from werkzeug.wrappers import Request, Response

        @Request.application
        def forward(request):
            on_request(request)
            upstream = requests.request(
                request.method,
                localstripe.url + request.full_path.rstrip("?"),
                data=request.get_data(),
                timeout=10,
                headers={k: v for k, v in request.headers if k.lower() != "host"},
            )
            return Response(upstream.content, upstream.status_code, content_type="application/json")

        super().__init__(forward)


@pytest.fixture
def stripe_app(app, localstripe_server):
    """The app configured for Stripe against localstripe, served live, its webhook registered."""
    app.config.update(
        STRIPE_SECRET_KEY=SECRET_KEY,
        STRIPE_PUBLISHABLE_KEY=PUBLISHABLE_KEY,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        STRIPE_API_BASE=localstripe_server.url,
    )
    server = LiveServer(app).start()
    # One webhook id per test process: a later test replaces the earlier test's URL.
    localstripe_server.register_webhook(f"scheduler-{os.getpid()}", server.url + "/api/v1/payments/stripe/webhook")
    app.live_url = server.url
    yield app
    server.stop()


def signed(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> dict:
    """Headers for posting `payload` as Stripe would, signed with stripe-python's helper."""
    header = stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)
    return {"Stripe-Signature": header, "Content-Type": "application/json"}


# ---- helpers for the scenarios ----------------------------------------------------------------


def status_of(client, enrolment: dict) -> str:
    from scheduler.foundation.extensions import db

    # The test client shares the fixture's app context and session: end its snapshot so
    # that what the live server committed is seen.
    db.session.rollback()
    response = client.get(f"/api/v1/enrolments/{enrolment['id']}", headers=as_participant(enrolment))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["status"]


def wait_for_status(client, enrolment: dict, status: str, timeout: float = 15.0) -> None:
    """Wait (bounded) for localstripe's webhook to reach the app and change the enrolment."""
    wait_until(
        lambda: status_of(client, enrolment) == status,
        timeout,
        what=f"enrolment {enrolment['id']} to become {status} (now {status_of(client, enrolment)})",
    )


def fresh(query):
    """Run a query on a fresh snapshot: the live server commits from other sessions."""
    from scheduler.foundation.extensions import db

    db.session.rollback()
    return db.session.scalars(query).all()
