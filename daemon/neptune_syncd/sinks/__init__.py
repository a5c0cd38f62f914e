"""Where the daemon sends logs: the sink interface and its implementations (http, memory)."""
