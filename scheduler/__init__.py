"""Scheduling rules, China's holiday calendar, shift generation and the background jobs."""
