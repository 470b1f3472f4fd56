"""HTTP: the tastypie-compatible rundb resource layer, custom endpoints and auth."""
