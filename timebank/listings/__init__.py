"""Offers ("I can…") and requests ("I'd like help with…"): create, edit, pause, close, browse."""
