"""Benchmark suite of Promptha Webhooks: `python -m bench` runs it and prints one table.

Each benchmark is a module with one job (dispatch, publish, latency, fanout, isolation,
backlog); the shared pieces are the receiver process (receiver), service processes (service),
scratch databases (database), seeding (seed), the load generator (loadgen), the bare sender
(baseline), drain measurement (drain), statistics (timing) and the table (report).
"""
