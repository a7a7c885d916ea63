"""The IVR capability: flows declared as YAML data, their interpreter, tier differences and
self-service (bill inquiry, emergency suspension, voice messages), and the journey of every
caller through them.

Layers, as every capability's (docs/decisions/0009-ivr-flows.md):

    model.py     flows and the prompt catalogue: parse, validate (file and line), pure rules
    journey.py   a journey's compact path, containment per flow and node: pure rules
    port.py      what the IVR needs from the customer database (a Protocol; the daemon plugs one)
    runner.py    FlowRunner: walks a flow over one AGI session
    actions.py   the self-service actions a flow may call
    route.py     the ``inbound`` FastAGI route (caller -> tier -> flow -> ACD)
    service.py   the flow book (load, reload), journeys, voice messages, containment
    store.py     its tables and queries
    http.py      its API routes;  cli.py: its ctictl commands;  plugin.py: wiring from config
"""
