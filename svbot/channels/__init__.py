"""Channel adapters: they translate platform events in and messages out, and decide nothing."""
