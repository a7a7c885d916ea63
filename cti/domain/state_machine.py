"""A tiny finite-state machine driven by an explicit transition table.

Each machine (agent, call) declares ``{(state, event): next_state}`` in one place; an event the
table does not allow raises :class:`IllegalTransition`. Side effects live in the services that
drive the machines, never here.
"""
from __future__ import annotations

from enum import Enum
from typing import Generic, Mapping, TypeVar

S = TypeVar("S", bound=Enum)
E = TypeVar("E", bound=Enum)


class IllegalTransition(Exception):
    """An event arrived that the current state does not accept."""

    def __init__(self, machine: str, state: Enum, event: Enum):
        super().__init__(f"{machine}: event {event.value!r} not allowed in state {state.value!r}")
        self.machine = machine
        self.state = state
        self.event = event


class StateMachine(Generic[S, E]):
    """Holds a current state and moves it along ``table``."""

    name = "machine"

    def __init__(self, table: Mapping[tuple[S, E], S], initial: S):
        self._table = table
        self.state: S = initial

    def can(self, event: E) -> bool:
        return (self.state, event) in self._table

    def fire(self, event: E) -> S:
        try:
            self.state = self._table[(self.state, event)]
        except KeyError:
            raise IllegalTransition(self.name, self.state, event) from None
        return self.state
