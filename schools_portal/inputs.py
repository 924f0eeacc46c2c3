"""Every request's text cleaned before any route or dependency reads it.

The portal's routers use `CleanInputRoute`, so each handler (and each dependency, the CSRF
check included) sees a `CleanInputRequest`: its JSON body, form fields, query parameters and
path parameters have lone surrogates and control characters replaced (`chat.inputs`). A lone
surrogate arrives as a JSON escape (`"\\ud800"`: valid JSON, but no UTF-8 encoder or database
takes it); control characters and NUL as `%00`-style escapes in forms and URLs (PostgreSQL
refuses NUL in text). Replaced, never rejected: a disclosure must still reach the risk screen.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.datastructures import FormData, QueryParams
from starlette.requests import Request
from starlette.responses import Response

from chat.input_values import clean_values
from chat.inputs import clean_text


class CleanInputRequest(Request):
    """A request whose text inputs come out cleaned (Starlette's caching kept)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = clean_values(json.loads(await self.body()))
        return self._json

    async def _get_form(self, **limits: Any) -> FormData:
        form = await super()._get_form(**limits)
        if not getattr(self, "_form_cleaned", False):
            # Uploaded files stay as they are; only text fields are cleaned.
            self._form = FormData(
                [
                    (clean_text(key), clean_text(value) if isinstance(value, str) else value)
                    for key, value in form.multi_items()
                ]
            )
            self._form_cleaned = True
        return self._form

    @property
    def query_params(self) -> QueryParams:
        if not hasattr(self, "_clean_query_params"):
            self._clean_query_params = QueryParams(
                [(clean_text(k), clean_text(v)) for k, v in super().query_params.multi_items()]
            )
        return self._clean_query_params

    @property
    def path_params(self) -> dict[str, Any]:
        return clean_values(super().path_params)


class CleanInputRoute(APIRoute):
    """The route class of every portal router (FastAPI's custom-request pattern)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def clean_input_handler(request: Request) -> Response:
            return await handler(CleanInputRequest(request.scope, request.receive))

        return clean_input_handler
