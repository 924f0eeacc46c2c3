"""Custom actions, one module per concern. Each action is thin: it reads the tracker, calls the
guidance engine or the MASH service, and utters a domain response with the values it found.

Identity (role, organisation, user) comes only from the message metadata the channel sets,
never from what the user typed. Blocking work (the engine, the database) runs in a worker
thread so one slow call does not hold up other conversations.
"""
