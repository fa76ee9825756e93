"""Reports: a timebank's month for its coordinators and funders, and the network's month for
installation admins (web page, CSV and PDF)."""
