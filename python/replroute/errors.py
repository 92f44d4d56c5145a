"""Exceptions of the replroute package."""


class Error(Exception):
    """An error reported by libreplroute.

    message is the library's RRerrorMessage() text (which names the nodes
    and carries libpq's or the server's message).  reason is a
    replroute.Reason when the error is about nodes that all share one
    reason (every node down, say), else None; nodes is the list of
    replroute.Node snapshots taken when a routing call failed (empty for
    argument errors).  Decide on reason, never on the message text.
    """

    def __init__(self, message, reason=None, nodes=()):
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.nodes = list(nodes)


class LibraryError(Error):
    """libreplroute could not be loaded, or is too old for this binding."""
