"""Silver: typed, conformed, deduplicated tables from bronze, plus quarantine and reconciliation."""
