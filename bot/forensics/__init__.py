"""Proof forensics: reused screenshots, copied proof text and bursts.

The pure parts (hashing, fetch, index, text) know nothing of Slack or
RapidWorkers; service.py ties them to the store. numpy and Pillow are
imported on first use, so a bot that never checks an image does not pay
for them in memory.
"""
