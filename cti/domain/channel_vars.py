"""Names of the channel variables ctid and the dialplan share, in one place.

The dialplan (``dialplan/extensions_cti.conf``) and ctid read and write these; a caller's
``CTI_*`` variables are also what ctid rebuilds its queue from after a restart.
"""

CALL_ID = "CTI_CALL_ID"          # cti-<uniqueid of the inbound channel>; set by the dialplan
DNIS = "CTI_DNIS"                # the number dialled (the hotline)
ARRIVAL = "CTI_ARRIVAL"          # epoch seconds the caller entered the ACD; survives RONA and restarts
CUSTOMER_ID = "CTI_CUSTOMER_ID"
TIER = "CTI_TIER"
SKILL = "CTI_SKILL"
PRIORITY = "CTI_PRIORITY"        # app_queue-style priority, used by the fallback path
LANGUAGE = "CTI_LANG"
IVR_PATH = "CTI_IVR_PATH"        # menu choices, e.g. "1>2>0"
MOH_CLASS = "CTI_MOH_CLASS"
TARGET = "CTI_TARGET"            # dial string of the reserved agent, set before Redirect
AGENT = "CTI_AGENT"              # agent id of the reserved agent

# Variables ctid reads back from a waiting channel when it resynchronises with the PBX.
RESYNC = (CALL_ID, ARRIVAL, CUSTOMER_ID, TIER, SKILL, PRIORITY, LANGUAGE, IVR_PATH, AGENT, TARGET)


# How Asterisk reports a variable that is not set on the channel: the ``Status`` action with
# ``Variables:`` prints ``NAME=(null)`` (manager.c formats a NULL), AMI ``Getvar`` an empty
# ``Value:``, AGI ``GET VARIABLE`` ``200 result=0`` (None here). All mean the same: unset.
UNSET_SPELLINGS = ("", "(null)")


def value_of(raw: str | None) -> str | None:
    """A channel variable's value as ctid should read it: None when Asterisk says unset."""
    if raw is None:
        return None
    value = raw.strip()
    return None if value in UNSET_SPELLINGS else value


# Dialplan contexts.
CTX_INBOUND = "cti-inbound"
CTX_WAIT = "cti-wait"
CTX_CONNECT = "cti-connect"
CTX_FALLBACK = "cti-fallback"

# UserEvent the dialplan sends when a caller (re-)enters the holding context.
USEREVENT_WAIT = "CTIWait"
# UserEvent the dialplan sends when a caller is handed to app_queue (ctid must let go of it).
USEREVENT_FALLBACK = "CTIFallback"
# AstDB family where cti-connect's h extension marks each answered call (key: CTI_CALL_ID,
# value: "<agent>:<end, epoch seconds>"), for calls whose end ctid did not see.
ASTDB_ANSWERED = "cti_answered"
