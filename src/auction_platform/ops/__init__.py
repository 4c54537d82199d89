"""Operations tooling: the operator's console and errors, database creation, backup and restore
(one database, or the whole embedded platform), and the demo data."""
