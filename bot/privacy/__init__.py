"""Personal data out of logs and views: masking, log redaction, phone numbers."""
