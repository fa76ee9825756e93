"""Segregation of duties: nobody decides on their own benefit (``rules.py``), the decision
requests that wait for someone else (``requests.py``, ``service.py``), and a single-coordinator
timebank's explicit self-approval setting."""
