"""The HTTP edge: ASGI app, SigV4, AWS JSON 1.1, dispatch, error encoding."""
