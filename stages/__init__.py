"""The application stage and the typed environment configuration it is built from."""
