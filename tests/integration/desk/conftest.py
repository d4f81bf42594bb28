"""What the console's tests share: a client signed in at the front desk."""

import pytest

from tests.desk_support import sign_in


@pytest.fixture
def desk(client, make_staff):
    """A client signed in as a front-desk member named Fran Desk (`desk.member`)."""
    member, _ = make_staff("front_desk", name="Fran Desk")
    sign_in(client, member)
    client.member = member
    return client
