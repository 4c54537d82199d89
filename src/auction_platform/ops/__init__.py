"""Operations tooling: database backup and restore (the runbook's Backup & Recovery)."""
