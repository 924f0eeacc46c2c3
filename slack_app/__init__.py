"""The Slack app (slack-bolt): practitioners chat with the assistant; the MASH duty desk works
escalations in its duty channel. Build it with `slack_app.app.build_app`; serve it mounted in
the portal (`slack_app.asgi.mount`) or on its own (`python -m slack_app`)."""
