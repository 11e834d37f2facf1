"""The daily digest, App Home and balance alerts."""
