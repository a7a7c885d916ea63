"""The PBX simulator's engine: channels, dialplan execution, applications, AMI events.

:class:`PBX` is the facade; see :mod:`.pbx`.
"""
from .pbx import PBX, NoSuchChannel, OriginateError, OriginateResult, PBXError

__all__ = ["PBX", "NoSuchChannel", "OriginateError", "OriginateResult", "PBXError"]
