"""Repositories: small functions taking a Session and returning plain data.

They run inside a unit of work (`cti.storage.unit_of_work`), never on the reactor thread.
"""
