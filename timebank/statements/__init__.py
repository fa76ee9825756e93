"""Member statements of closed months (web page, CSV, PDF) and the coordinator's month close."""
