"""ComponentResources of the platform program, and the settings they are built from."""
