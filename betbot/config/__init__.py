"""Settings (TOML < environment < flags), the units they are written in, the API key and the data paths."""
