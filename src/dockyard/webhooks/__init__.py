"""Webhooks: owners subscribe to repo and discussion events; deliveries go through the job queue."""
