"""gunicorn settings for production: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Every value can be changed from the environment; docs/PRODUCTION.md explains the choices.
"""

import multiprocessing
import os

bind = os.environ.get("TIMEBANK_BIND", "127.0.0.1:8000")
# Sync workers: requests are short and database-bound. Each worker holds its own connection
# pool, so workers x (pool size + overflow) must fit PostgreSQL's max_connections.
workers = int(os.environ.get("WEB_CONCURRENCY", str(multiprocessing.cpu_count() * 2 + 1)))
worker_class = "sync"
timeout = int(os.environ.get("TIMEBANK_WORKER_TIMEOUT", "30"))  # a stuck request is killed
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so a slow leak never grows for weeks.
max_requests = 2000
max_requests_jitter = 200
# Never preload: each worker must open its own database connections after the fork.
preload_app = False
# Trust X-Forwarded-* only from the proxy in front (the app's ProxyFix does the same in WSGI).
forwarded_allow_ips = os.environ.get("TIMEBANK_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("TIMEBANK_LOG_LEVEL", "info")
