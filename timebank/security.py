"""Response headers that make the browser refuse what the app never does.

Pages use no inline scripts or style attributes, so the Content-Security-Policy can be strict:
everything from our own origin, no plugins (``object-src 'none'``), no ``<base>`` rewriting
(``base-uri 'none'``), no framing. HSTS is sent only when the app is served over HTTPS
(``PREFER_HTTPS``, set in production), because a browser remembers it for a long time.

A response to a signed-in request is ``Cache-Control: no-store``: pages hold people's private
details (a coordinator's member page: phone, access needs, checks notes), and on a shared
computer the browser's back button or cache must not show them to the next person.
"""

from __future__ import annotations

from flask import Flask, Response, request

from .auth.web_session import is_signed_in_request

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    )
)

BASE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def register(app: Flask) -> None:
    hsts_seconds = int(app.config.get("HSTS_SECONDS", 0))

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        for name, value in BASE_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.endpoint != "static" and is_signed_in_request():
            response.headers["Cache-Control"] = "no-store"
        if hsts_seconds and request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", f"max-age={hsts_seconds}; includeSubDomains")
        return response
