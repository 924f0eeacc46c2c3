from mash import escalations
from mash.access import ChannelIdentity


def test_raise_and_read(session, demo, actors):
    identity = ChannelIdentity(
        channel="portal",
        sender="s1",
        user_id=str(demo.people["oakfield_dsl"]),
        organisation_id=demo.organisations["oakfield"],
    )
    view = escalations.raise_escalation(
        session=session,
        identity=identity,
        message_id="m1",
        urgency="immediate",
        categories=["physical_abuse"],
        text="He hit me, call 07700 900123",
    )
    assert view.sender_verified
    got = escalations.get_escalation(session=session, actor=actors["duty"], escalation_id=view.id)
    assert got.excerpt == "He hit me, call [phone]"
