"""The gateway database: engine, models, migrations, transcripts, audit."""
