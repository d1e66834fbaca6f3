"""`habitlake bi start|stop|status`: the SQL endpoint (Spark Thrift Server) for BI tools."""
from __future__ import annotations


def cmd_bi(args, settings) -> int:
    from habitlake import bi

    if args.action == "start":
        url = bi.start(settings, port=args.port, host=args.host)
        print(f"SQL endpoint ready: {url}  (gold tables only; `habitlake bi stop` ends it)")
    elif args.action == "stop":
        print("SQL endpoint stopped" if bi.stop(settings) else "SQL endpoint: not running")
    else:
        print(bi.status(settings))
    return 0


def register(sub) -> None:
    from habitlake.bi import DEFAULT_HOST, DEFAULT_PORT

    p = sub.add_parser("bi", help="start, stop or show the SQL endpoint for BI tools (HiveServer2)",
                       description="The Spark Thrift Server over the gold tables: connect Superset, Tableau, "
                                   "Power BI (Spark/Hive ODBC/JDBC driver), beeline or PyHive to "
                                   "jdbc:hive2://HOST:PORT/gold. Only gold is visible.")
    p.add_argument("action", choices=["start", "stop", "status"])
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default %(default)s)")
    p.add_argument("--host", default=DEFAULT_HOST,
                   help="address to listen on (default %(default)s; 0.0.0.0 to serve other machines)")
    p.set_defaults(func=cmd_bi)
