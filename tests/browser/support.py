"""What every browser journey does on each page it reaches: check accessibility and errors, take screenshots."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
AXE = ROOT / "tests" / "js" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "tests" / "artifacts"
WIDTHS = {"phone": (390, 844), "desktop": (1280, 900)}


def _axe_violations(page) -> list[dict]:
    # Evaluated through the DevTools protocol, which the page's CSP does not govern.
    page.evaluate(AXE.read_text())
    return page.evaluate(
        """async () => {
            // Stripe's card element is Stripe's own frame (in tests, localstripe's stand-in).
            const result = await axe.run({exclude: [["#card-element"]]}, {resultTypes: ["violations"]});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(" "))
            }));
        }"""
    )


_ERROR_STATUS = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d\b")


def look(page, name: str, error_status: bool = False) -> None:
    """axe finds nothing serious, nothing was logged as an error; screenshots at both widths.

    error_status: the page itself answered 4xx on purpose (a form with mistakes, a bad
    link), which Chromium logs as a failed load.
    """
    page.wait_for_load_state("load")
    if page.javascript:
        serious = [v for v in _axe_violations(page) if v["impact"] in ("serious", "critical")]
        assert not serious, f"{name}: accessibility violations {serious}"
    errors = [e for e in page.errors if not (error_status and _ERROR_STATUS.match(e))]
    assert not errors, f"{name}: the page logged errors {errors}"
    page.errors.clear()
    ARTIFACTS.mkdir(exist_ok=True)
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(ARTIFACTS / f"{_slug(name)}-{label}-{width}.png"), full_page=True)
    width, height = WIDTHS["desktop"]
    page.set_viewport_size({"width": width, "height": height})


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def pay_with_a_3ds_card(page, pay, localstripe_server, enrolment_id: str) -> str:
    """Pay on the participant page with a card that asks for 3-D Secure, and complete the challenge.

    localstripe's Stripe.js double draws the card fields but does not send them when the page calls
    confirmCardPayment: it only runs the 3-D Secure step of an intent that has a card. So the card
    Stripe.js would have sent is attached to the enrolment's intent first; then the person presses
    `pay` and completes the double's own dialog. Returns the payment intent's id."""
    from sqlalchemy import select

    from scheduler.foundation.extensions import db
    from scheduler.payments.models import Payment

    db.session.rollback()
    intent = db.session.scalar(select(Payment.stripe_payment_intent_id).where(Payment.enrolment_id == enrolment_id))
    card = localstripe_server._call(
        "POST",
        "/v1/payment_methods",
        {"type": "card", "card[number]": "4000002760003184", "card[exp_month]": "12", "card[exp_year]": "2034"}
        | {"card[cvc]": "123"},
    )
    assert localstripe_server.pay(intent, card["id"])["status"] == "requires_action"
    pay.click()
    page.get_by_role("button", name="Complete authentication").click()  # the double's dialog, not ours
    return intent
