"""The deployable services of Notion KB Manager, one package per service."""
