"""Live status: changes to records, the bus that carries them, and (built on these)
the subscriptions that deliver them."""
