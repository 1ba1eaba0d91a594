"""One module per export format, each behind the interface of :class:`base.Format`."""
