"""The strongroom command line: thin commands over bootstrap and the wire protocol."""
