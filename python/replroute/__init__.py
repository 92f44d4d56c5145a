"""replroute: Python over libreplroute, the lag-aware read/write router
for a replicated PostgreSQL cluster.

    import replroute

    with replroute.Cluster("host=db1,db2,db3 dbname=app",
                           "max_lag_seconds=0.5s") as cluster:
        node = cluster.route_read()          # a fresh standby, or the primary
        print(node.host, node.port, node.role)
        primary = cluster.route_write()

The routing logic is the C library's; this package asks it where a read or
a write goes and runs nothing itself.  replroute.django builds Django's
DATABASES from one connection string and provides the database router and
the read-your-writes middleware.
"""

from .errors import Error, LibraryError
from .cluster import (Choice, Cluster, Event, Node, Reason, READ, WRITE, library_version,
                      lsn_to_int, int_to_lsn)

# in step with libreplroute's REPLROUTE_VERSION_STR
__version__ = "1.1.0"

__all__ = ["Choice", "Cluster", "Error", "Event", "LibraryError", "Node", "Reason", "READ",
           "WRITE", "library_version", "lsn_to_int", "int_to_lsn", "__version__"]
