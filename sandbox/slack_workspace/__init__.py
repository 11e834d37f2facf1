"""A local stand-in for the Slack Web API (a Slack workspace) for tests, benchmarks and demos.

server         SlackStandin: the HTTP server, its state, faults, dispatch; bind_response_url
methods        chat.*, conversations.*, users.info, auth.test
views          views.open / push / update / publish
files          files.info and private downloads
response_urls  what a POST to a response_url does
delivery       /_deliver: interactions sent on to the app, stamped on the stand-in's clock
block_kit      Block Kit checks: a table of rules per block type
arguments      Slack's documented argument limits and errors, cursors
records        Call, Delivery and Message

Imports nothing from tests/.
"""
