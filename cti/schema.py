"""Every table ctid keeps, in one metadata: the core's models and each capability's store.

Alembic (``db/env.py``) and the schema tests compare the migrations against this. The core never
imports a capability; this module, like ``cti/app.py``, sits above both and only gathers.
"""
from __future__ import annotations

from cti.storage.models import Base

# Each capability's store module registers its tables on Base.metadata when imported.
# (one import line per capability, in the order of their migrations)
import cti.customers.store  # noqa: E402,F401  (0004) customers, lines, history, import ledger
import cti.ivr.store  # noqa: E402,F401  (0005) journeys, voice messages
import cti.agentivr.store  # noqa: F401,E402  (agents.pin_hash, contacts.survey_score: core tables)

metadata = Base.metadata
