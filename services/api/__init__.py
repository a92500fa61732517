"""The REST API (Litestar): controllers per area over a service layer, wired in app.py."""
