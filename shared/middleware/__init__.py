"""Worker middleware: database connection, item tracking, retry schedule."""
