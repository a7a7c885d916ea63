"""SQLAlchemy 2.0 models, repositories and the unit of work run off the reactor thread."""
