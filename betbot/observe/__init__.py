"""What watches a run: logs, the dashboard, metrics, the heartbeat, the end-of-run summary and reports."""
