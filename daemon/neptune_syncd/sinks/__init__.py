"""Where the daemon sends logs: the sink interface (``base``) and the store's HTTP client (``http``)."""
