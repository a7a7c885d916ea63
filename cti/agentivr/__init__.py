"""The agent side of the IVR: phone feature codes, agent → flow → same agent, the survey.

Layout (docs/decisions/0011-agent-side-ivr.md): ``model`` (pure rules), ``features``,
``survey`` and ``flows`` (use cases and their FastAGI routes), ``store`` (queries),
``http`` (API routes), ``cli`` (``ctictl agent pin``), ``plugin`` (wiring).
"""
