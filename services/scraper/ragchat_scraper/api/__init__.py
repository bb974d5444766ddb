"""HTTP endpoints of the scraper (besides health, readiness and metrics)."""
