"""The pause program and how it is built."""
