"""Simulators and stand-ins (RapidWorkers, Wonolo, Slack) for tests, benchmarks and demos.

Never imported by bot/, handlers/ or storage/ (the CLI loads it lazily)."""
