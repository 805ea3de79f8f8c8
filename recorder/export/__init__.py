"""Export of recorded evidence to standard formats."""
