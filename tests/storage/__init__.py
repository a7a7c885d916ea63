"""Tests of cti.storage: models, migrations, repositories, outage buffer, queue_log."""
