"""Shared core of Notion KB Manager: settings, models, broker, pipeline, middleware."""
