"""Talk to Rasa's signed channel directly: one signed message, the replies printed.

For operators, probes, benchmarks and tests; the portal and the Slack app go through the chat
relay instead (which also screens for risk and raises escalations itself). Uses CHANNEL_SECRET
and RASA_URL from the settings, so it works only where the relay's secret is known.

    python -m chat.say "who is our MASH contact?"
    python -m chat.say --user 5 --role dsl --organisation 2 "what does level 2 mean?"
    python -m chat.say --quiet hi          # exit 0 if Rasa answered (a readiness probe)
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Mapping
from typing import Any

import httpx

from chat.signing import WEBHOOK_PATH, sign_request
from settings import Settings


def post_signed(
    rasa_url: str,
    secret: str,
    *,
    text: str,
    conversation: str,
    metadata: Mapping[str, Any],
    timeout: float = 30.0,
    client: httpx.Client | None = None,
) -> httpx.Response:
    """One signed post to the channel at `rasa_url` (the raw response: callers check status)."""
    body, headers = sign_request(secret, conversation=conversation, text=text, metadata=metadata)
    url = rasa_url.rstrip("/") + WEBHOOK_PATH
    if client is not None:
        return client.post(url, content=body, headers=headers, timeout=timeout)
    return httpx.post(url, content=body, headers=headers, timeout=timeout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("text")
    parser.add_argument("--url", help="Rasa's base URL (default: RASA_URL)")
    parser.add_argument("--conversation", default="cli-demo", help="the relay's conversation key")
    parser.add_argument("--channel", default="portal")
    parser.add_argument("--user", help="user_id (portal: people.id)")
    parser.add_argument("--role")
    parser.add_argument("--organisation", type=int)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--quiet", action="store_true", help="print nothing; exit 0 if answered")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    metadata = {
        "user_id": args.user,
        "role": args.role,
        "organisation_id": args.organisation,
        "channel": args.channel,
        "message_id": f"cli-{uuid.uuid4()}",
    }
    try:
        response = post_signed(
            args.url or settings.rasa_url, settings.channel_secret, text=args.text,
            conversation=args.conversation, metadata=metadata, timeout=args.timeout,
        )
        response.raise_for_status()
        replies = response.json()
    except (httpx.HTTPError, ValueError) as error:
        if not args.quiet:
            print(f"no answer: {error}", file=sys.stderr)
        return 1
    if not args.quiet:
        for reply in replies:
            print(reply.get("text") or json.dumps(reply, ensure_ascii=False))
    return 0 if any(isinstance(r, dict) and r.get("text") for r in replies) else 1


if __name__ == "__main__":
    sys.exit(main())
