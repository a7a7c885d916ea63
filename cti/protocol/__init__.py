"""Sans-IO protocol code: AMI framing and messages, AGI environment and results. Bytes in, objects out."""
