"""The notification service: stateless consumers that tell people what happened."""
