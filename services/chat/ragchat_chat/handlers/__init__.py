"""What chat publishes to Kafka."""
