"""The seven services, one package each, with the same file names in each."""
