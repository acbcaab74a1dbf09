"""Imported coding-agent sessions (Claude Code transcripts) as the same span tree live traces make."""
