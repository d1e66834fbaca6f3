"""Business jobs by layer: landing (generator, mappings), bronze, silver, gold."""
