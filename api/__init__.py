"""The composition root: settings, database, the FastAPI app and the ``kyso`` command line."""
