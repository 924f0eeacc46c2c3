"""The schools portal: FastAPI pages and JSON API for DSLs, GPs, the MASH and its managers.

`create_app(settings)` builds the application; `python -m schools_portal` serves it.
"""

from schools_portal.app import create_app

__all__ = ["create_app"]
