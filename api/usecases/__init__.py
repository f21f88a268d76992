"""Use cases: what the service does, each over a unit of work; the adapters call them."""
