"""Coordinator tools: vetting applications to join (and, later, approving exchanges)."""
