"""The atlas's labs."""
