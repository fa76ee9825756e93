"""Explainable matching: who could help with a request, which requests an offer could meet."""
