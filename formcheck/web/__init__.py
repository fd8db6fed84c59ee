"""`formcheck serve`: the clinic web app over the history database and the batch report folders.

``formcheck.web.app.create_app(db_path, reports_dir, token)`` builds the FastAPI app; the CLI only
binds and runs it. This package imports nothing itself, so importing ``formcheck.web.views`` (pure)
does not load FastAPI.
"""
