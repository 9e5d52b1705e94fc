"""The MLflow tracking-server backend: mltop's store Protocols over MLflow's REST API.

A store location that is an `http://` or `https://` URL is a tracking server (PostgreSQL or
MySQL behind it, S3 or a shared disk for artifacts: whatever the team runs); every other
location is a local SQLite store. `rest.py` speaks the API.
"""
