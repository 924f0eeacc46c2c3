"""Helpers for the MASH service tests (imported by name: test folders are not packages, and
`from conftest import ...` would find whichever conftest pytest loaded last)."""

from __future__ import annotations

from sqlalchemy import func, select


def count_rows(factory, model) -> int:
    with factory() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()
