"""Entry point for gunicorn: ``gunicorn wsgi:app``."""

from timebank import create_app

app = create_app()
