"""Landing pages on the tenant host for every link we send a person (see views)."""
