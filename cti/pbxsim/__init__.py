"""A PBX simulator speaking real AMI and FastAGI and executing our own dialplan/ files."""
