"""The browser app: a backend-for-frontend that owns sessions only."""
