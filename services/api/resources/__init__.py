"""Falcon resources: a few lines each over the task service and the monitor."""
