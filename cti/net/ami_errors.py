"""The AMI client's exception hierarchy: every way an action or the link can fail.

One base, :class:`AMIError`, so a caller can catch the whole boundary; one class per cause, so
it can tell them apart. Each class has a stable ``code`` for logs and the HTTP API.

The distinction that matters most is :class:`AMIConnectionLost`: the action was written (or
was about to be) when the link went down, so it may or may not have run on Asterisk. The
client never sends it again on its own; for ``Originate``/``Redirect`` the caller reconciles
from the resynchronisation that follows the next login.
"""
from __future__ import annotations

from cti.protocol.ami_message import Message


class AMIError(Exception):
    """Base of every AMI client error."""

    code = "ami_error"


class AMIActionError(AMIError):
    """Asterisk answered ``Response: Error`` (``message`` is its ``Message:`` header)."""

    code = "ami_action_error"

    def __init__(self, message: str, response: Message):
        super().__init__(message)
        self.message = message
        self.response = response


class AMITimeout(AMIError):
    """No complete answer within the action's timeout; a late answer is dropped."""

    code = "ami_timeout"

    def __init__(self, action: str, action_id: str, timeout: float):
        super().__init__(f"{action} (ActionID {action_id}) got no answer within {timeout:g} s")
        self.action = action
        self.action_id = action_id
        self.timeout = timeout


class AMIConnectionLost(AMIError):
    """The link dropped while the action was pending; it may or may not have run. Never re-sent."""

    code = "ami_connection_lost"


class AMILoginFailed(AMIError):
    """Asterisk refused the login (``Authentication failed``) or the challenge."""

    code = "ami_login_failed"


class AMINotConnected(AMIError):
    """An action was asked for while there is no logged-in link; nothing is queued."""

    code = "ami_not_connected"
