"""Voice input and output (speech recognition and synthesis) for the kiosk."""
