"""Pure domain rules, no I/O: state machines, routing policy, metrics."""
