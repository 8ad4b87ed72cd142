"""Benchmark suite of Promptha Webhooks: `python -m bench` runs it and prints one table.

Each benchmark is a module with one job (dispatch, publish, latency, fanout, isolation,
backlog); the shared pieces are the receiver process (receiver), service processes (service),
scratch databases (database), set-up through the service's API (api), the typical event
(events), seeding with SQL (seed), the load generator (loadgen), the bare senders (baseline),
drain measurement (drain), statistics (timing), the table (report) and the CPU-by-stage summary
of `--profile` (stages).
"""
