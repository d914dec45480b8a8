"""The hub's FastAPI app: REST under /api, live events on /ws/events."""
