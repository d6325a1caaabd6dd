"""One module per objective: how each is solved and how its value, bound and gap are read."""
