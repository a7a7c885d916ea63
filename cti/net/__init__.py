"""Thin Twisted adapters: AMI client, FastAGI server, WebSocket push, HTTP API."""
