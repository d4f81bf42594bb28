"""Sliding scale: a program's price levels, chosen by the person when allowed or set by staff."""

from tests.helpers import enrol, enrolled

LEVELS = [
    {"code": "standard", "name": "Standard", "amount": 36000},
    {"code": "reduced", "name": "Reduced", "amount": 18000},
    {"code": "supported", "name": "Supported", "amount": 6000},
]


def test_people_choose_a_level_when_the_program_allows_it(client, make_program, make_cohort):
    program = make_program(price_levels=LEVELS, self_select_price_level=True)
    cohort = make_cohort(program=program, capacity=5, price_amount=36000)
    public = client.get(f"/api/v1/cohorts/{cohort.id}").json
    assert [level["code"] for level in public["price_levels"]] == ["standard", "reduced", "supported"]
    body = enrolled(client, cohort.id, "a@example.org", price_level="reduced")
    assert (body["price_level"], body["amount_due"], body["balance"]) == ("reduced", 18000, 18000)
    assert body["payment"] == {"provider": "manual", "amount": 18000, "currency": "usd"}
    plain = enrolled(client, cohort.id, "b@example.org")
    assert (plain["price_level"], plain["amount_due"]) == (None, 36000)
    unknown = enrol(client, cohort.id, "c@example.org", price_level="free")
    assert unknown.status_code == 422
    assert unknown.json["errors"]["price_level"] == [
        "No price level 'free' in this program; use one of: standard, reduced, supported."
    ]


def test_when_only_staff_set_the_level_a_chosen_level_is_refused_by_name(client, make_program, make_cohort, auth):
    program = make_program(price_levels=LEVELS, self_select_price_level=False)
    cohort = make_cohort(program=program, capacity=5, price_amount=36000)
    assert client.get(f"/api/v1/cohorts/{cohort.id}").json["price_levels"] == []
    refused = enrol(client, cohort.id, "a@example.org", price_level="reduced")
    assert refused.status_code == 422
    assert refused.json["errors"] == {
        "price_level": ["This program does not let people choose a price level; the front desk sets it."]
    }
    desk = auth("front_desk")
    by_staff = enrol(client, cohort.id, "a@example.org", headers=desk, price_level="supported")
    assert by_staff.status_code == 201 and by_staff.json["amount_due"] == 6000
    # Staff may also move someone to a level later, with a reason (the audit keeps it).
    later = enrolled(client, cohort.id, "b@example.org")
    moved = client.patch(
        f"/api/v1/enrolments/{later['id']}", json={"price_level": "reduced", "reason": "income checked"}, headers=desk
    )
    assert moved.status_code == 200, moved.json
    assert (moved.json["price_level"], moved.json["amount_due"], moved.json["balance"]) == ("reduced", 18000, 18000)


def test_a_level_and_a_discount_code_together(client, make_program, make_cohort, auth):
    desk = auth("front_desk")
    program = make_program(price_levels=LEVELS, self_select_price_level=True)
    cohort = make_cohort(program=program, capacity=5, price_amount=36000)
    client.post("/api/v1/discount-codes", json={"code": "TEN", "percent_off": 10}, headers=desk)
    body = enrolled(client, cohort.id, "a@example.org", price_level="reduced", discount_code="TEN")
    assert (body["price_before_discount"], body["discount_amount"], body["amount_due"]) == (18000, 1800, 16200)


def test_program_price_levels_are_validated(client, auth):
    desk = auth("admin")
    base = {"name": "Skills group", "price_amount": 36000, "currency": "usd"}
    twice = client.post(
        "/api/v1/programs",
        json={**base, "price_levels": [LEVELS[0], {**LEVELS[1], "code": "standard"}]},
        headers=desk,
    )
    assert twice.status_code == 422 and twice.json["errors"]["price_levels"] == ["Each price level needs its own code."]
    bad_code = client.post(
        "/api/v1/programs", json={**base, "price_levels": [{**LEVELS[0], "code": "Not OK"}]}, headers=desk
    )
    assert bad_code.status_code == 422 and "price_levels.0.code" in bad_code.json["errors"]
    made = client.post(
        "/api/v1/programs", json={**base, "price_levels": LEVELS, "self_select_price_level": True}, headers=desk
    )
    assert (
        made.status_code == 201 and made.json["price_levels"] == LEVELS and made.json["self_select_price_level"] is True
    )
