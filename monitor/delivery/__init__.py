"""From outbox to channel: the delivery loop, its policy, the neutral message and the sinks."""
