"""`formcheck serve`: the clinic web app over the history database and the batch report folders.

``create_app(db_path, reports_dir, token)`` builds the FastAPI app; the CLI only binds and runs it.
"""

from formcheck.web.app import create_app, is_local_host

__all__ = ["create_app", "is_local_host"]
