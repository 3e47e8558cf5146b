"""The `barometer` command: development runner, migrations, tokens, demo data."""
