"""`gigdesk demo`: the bot, offline, in a local Slack workspace shown in the browser.

world   Demo: the Slack stand-in, both simulators with lively data, and the real bot
        (bot.app.Serving, as `gigdesk serve` runs it) wired to them
page    the web page: a WSGI app that shows the workspace and turns a person's
        clicks into requests to the bot signed exactly as Slack signs them (or, with
        --socket-mode, into Socket Mode envelopes)
static  index.html, app.css and app.js (a small Block Kit renderer, no build step)

Nothing in bot/, handlers/ or storage/ knows about it: bot.cli imports it lazily.
"""
