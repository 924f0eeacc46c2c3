"""The MASH service: what the Multi-Agency Safeguarding Hub does with what the assistant raises.

Public interface (all service functions keyword-only; each is one transaction on the `session`
it is given, committed before it returns, rolled back on error; access rules enforced inside):

    mash.db            make_engine(settings), session_factory(engine), transaction(factory)
    mash.access        Actor, ChannelIdentity
    mash.errors        MashError, NotFound, Forbidden, Conflict, InvalidInput
    mash.directory     create_organisation, get_organisation, list_organisations, create_user,
                       authenticate, actor_for, list_people, set_named_contact, named_contact
    mash.escalations   raise_escalation, get_escalation, list_escalations, acknowledge, pick_up,
                       reassign, record_outcome, mark_originator_informed, check_deadlines
                       (a further message about the same child joins the sender's open
                       escalation: mash.followups, mash.child_details)
    mash.consultations request_consultation, get_consultation, list_consultations,
                       pick_up_consultation, close_consultation
    mash.outbox        Message, Target (protocol); mash.targets LogTarget, FileTarget, SmtpTarget
    mash.dispatcher    Dispatcher(factory=, targets=, settings=).run_once() / run_forever()
    mash.audit         trail (managers); mash.retention purge; mash.figures weekly_figures, to_csv
    mash.redact        redact(text)

See docs/architecture.md, "The MASH service". Command line: python -m mash --help.
"""
