"""Use cases wiring the domain to the world: call tracker, ACD, agents, IVR, recordings, screen-pop, reports."""
