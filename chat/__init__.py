"""The practitioner chat relay: the one way the portal and the Slack app talk to the assistant.

It screens every message itself before Rasa sees it, so that the safety message and the
escalation never depend on Rasa, the action server or the database being up.
"""
