"""A local stand-in for the Slack Web API (a Slack workspace) for tests, benchmarks and demos.

server: SlackStandin, the HTTP server and its state. Imports nothing from tests/.
"""
