"""Firebell's benchmarks: ``python -m bench`` runs every part and prints one table.

Each part measures Firebell against a baseline run in the same process and the same run (raw
``sqlite3``/``psycopg`` for the event log, the sum of the fakes' delays and the critical path for
declaring an incident), repeats it and reports medians and ratios: this machine's absolute
figures are context, the ratios are the result. Results are also written as JSON to
``bench/results/`` (not committed). docs/performance.md records the latest table and reads it.
"""
