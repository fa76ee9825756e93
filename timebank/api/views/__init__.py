"""The API's routes, one module per area. Each view is thin: parse (schemas), call the same
service as the web UI, dump (schemas)."""
