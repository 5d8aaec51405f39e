"""Domain services: the rules, in transactions, callable without HTTP."""
