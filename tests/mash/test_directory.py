import pytest
from sqlalchemy import select

from mash import directory, escalations
from mash.access import Actor, ChannelIdentity
from mash.errors import Forbidden, InvalidInput, NotFound
from mash.models import Person

SYSTEM = Actor.system("test")


def test_authenticate(session, demo):
    from mash.demo import DEMO_PASSWORD

    actor = directory.authenticate(
        session=session, email="Dana.Price@oakfield.example ", password=DEMO_PASSWORD
    )
    assert actor == Actor(
        user_id=demo.people["oakfield_dsl"],
        role="dsl",
        organisation_id=demo.organisations["oakfield"],
        name="Dana Price",
    )
    assert (
        directory.authenticate(
            session=session, email="dana.price@oakfield.example", password="wrong"
        )
        is None
    )
    assert (
        directory.authenticate(session=session, email="nobody@example.org", password=DEMO_PASSWORD)
        is None
    )
    stored = session.execute(
        select(Person.password_hash).where(Person.id == actor.user_id)
    ).scalar_one()
    assert stored.startswith("$argon2id$") and DEMO_PASSWORD not in stored


def test_inactive_people_cannot_sign_in_or_act(session, demo):
    from mash.demo import DEMO_PASSWORD

    session.get(Person, demo.people["gp"]).active = False
    session.commit()
    assert (
        directory.authenticate(
            session=session, email="gita.rao@harbour.example", password=DEMO_PASSWORD
        )
        is None
    )
    with pytest.raises(NotFound):
        directory.actor_for(session=session, user_id=demo.people["gp"])


def test_create_user_and_its_checks(session, demo):
    person = directory.create_user(
        session=session,
        actor=SYSTEM,
        name="New DSL",
        email="New.DSL@school.example",
        role="dsl",
        organisation_id=demo.organisations["riverside"],
        password="long enough pw",
    )
    assert person.email == "new.dsl@school.example" and person.role == "dsl"
    bad = [
        (dict(email="not-an-email"), "email"),
        (dict(role="headteacher"), "role"),
        (dict(organisation_id=424242), "organisation_id"),
        (
            dict(organisation_id=demo.organisations["harbour"]),
            "organisation_id",
        ),  # a DSL at a GP practice
        (dict(password="short"), "password"),
        (dict(email="new.dsl@school.example"), "email"),  # duplicate
    ]
    for overrides, field in bad:
        fields = dict(
            name="X",
            email="x@school.example",
            role="dsl",
            organisation_id=demo.organisations["riverside"],
        )
        fields.update(overrides)
        with pytest.raises(InvalidInput) as caught:
            directory.create_user(session=session, actor=SYSTEM, **fields)
        assert caught.value.field == field, overrides
    with pytest.raises(Forbidden):
        directory.create_user(
            session=session,
            actor=Actor(1, "mash_manager", None),
            name="X",
            email="y@x.example",
            role="admin",
        )


def test_named_contact_school_then_area(session, demo):
    oak = directory.named_contact(session=session, organisation_id=demo.organisations["oakfield"])
    assert (oak.name, oak.scope) == ("Sam Okafor", "school")
    river = directory.named_contact(
        session=session, organisation_id=demo.organisations["riverside"]
    )
    assert (river.name, river.scope) == ("Alex Reid", "area")
    mash_org = directory.named_contact(session=session, organisation_id=demo.organisations["mash"])
    assert mash_org is None
    with pytest.raises(InvalidInput):
        directory.set_named_contact(
            session=session,
            actor=SYSTEM,
            person_id=demo.people["oakfield_dsl"],
            organisation_id=demo.organisations["riverside"],
        )
    directory.set_named_contact(
        session=session,
        actor=SYSTEM,
        person_id=demo.people["duty"],
        organisation_id=demo.organisations["riverside"],
    )
    again = directory.named_contact(
        session=session, organisation_id=demo.organisations["riverside"]
    )
    assert (again.name, again.scope) == ("Sam Okafor", "school")


def test_slack_identity_resolves_to_the_person(session, demo, actors):
    assert (
        directory.actor_for(session=session, slack_user_id="UDEMODSL02") == actors["riverside_dsl"]
    )
    identity = ChannelIdentity.from_metadata(
        {
            "user_id": "UDEMODSL02",
            "role": "dsl",
            "organisation_id": str(demo.organisations["riverside"]),
            "channel": "slack",
            "message_id": "m",
        },
        sender="slack-UDEMODSL02",
    )
    view = escalations.raise_escalation(
        session=session,
        identity=identity,
        message_id="slack-1",
        urgency="concern",
        categories=[],
        text="t",
    )
    assert view.sender_verified and view.originator_user_id == demo.people["riverside_dsl"]


def test_channel_identity_tolerates_odd_metadata():
    identity = ChannelIdentity.from_metadata({"organisation_id": "abc", "user_id": ""}, sender="s")
    assert identity == ChannelIdentity(channel="unknown", sender="s")


def test_list_people_is_scoped(session, actors, demo):
    mine = directory.list_people(session=session, actor=actors["oakfield_dsl"])
    assert {p.organisation_id for p in mine} == {demo.organisations["oakfield"]}
    assert len(directory.list_people(session=session, actor=actors["duty"])) == 8
