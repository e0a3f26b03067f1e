"""The HTTP API (FastAPI): `create_app(context)` with the parts the composition root built."""
