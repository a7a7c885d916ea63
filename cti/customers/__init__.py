"""Customers: the local copy of the billing system's customer data (客户本地资料库), kept in
sync by incremental batch files, and the port the call path and the IVR ask it through.

    model.py      pure rules: caller profiles, line statuses, money in fen, masking
    batch.py      the batch-file format (sans-IO): header, rows, field checks per record type
    store.py      the tables and the queries the IVR and the desktop need
    importer.py   applies one batch file: atomic, idempotent, ordered per record type
    merge.py      the SQL of each record type: keys, references, checks, merge
    watcher.py    the drop directory inside ctid (incoming -> done / rejected)
    service.py    CustomerService: lookups, accounts, PIN checks, suspension (off the reactor)
    plugin.py     wiring from config
    cli.py        ``ctictl import``
"""
