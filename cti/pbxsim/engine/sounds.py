"""Lengths of the prompts the simulator knows, in 8 kHz samples (``endpos`` of STREAM FILE).

A prompt that is not in the table does not exist: ``Playback`` sets ``PLAYBACKSTATUS=FAILED``
and ``STREAM FILE`` answers ``200 result=-1 endpos=0``, as Asterisk does for a missing file.
The two measured lengths (``beep``, ``queue-periodic-announce``) come from the captures.
"""
DEFAULT_SOUNDS: dict[str, int] = {
    "beep": 3404,
    "queue-periodic-announce": 62699,
    "ss-noservice": 24000,
    "pls-hold-while-try": 16000,
    "queue-thankyou": 12000,
    "queue-youarenext": 10000,
    "queue-thereare": 8000,
    "queue-callswaiting": 12000,
    "queue-holdtime": 12000,
    "queue-minutes": 6000,
    "queue-callback": 24000,
    "vm-goodbye": 6000,
    "agent-loginok": 8000,
    "silence/1": 8000,
    **{f"digits/{d}": 4000 for d in range(10)},
}
