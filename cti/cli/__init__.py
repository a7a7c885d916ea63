"""ctictl: thin commands over ctid's HTTP API."""
