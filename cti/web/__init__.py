"""Agent desktop and supervisor wallboard: static assets served by ctid."""
