"""`habitlake driver start|stop|status|serve`: the long-lived Spark driver (habitlake/driver.py)."""
from __future__ import annotations

from habitlake.settings import Settings


def cmd_driver(args, settings: Settings) -> int:
    from habitlake import driver

    if args.action == "serve":
        driver.serve(settings)
        return 0
    if args.action == "start":
        driver.start(settings)
    elif args.action == "stop":
        print("habitlake driver stopped" if driver.stop(settings) else "habitlake driver was not running")
        return 0
    print(driver.status(settings))  # start, status
    return 0


def register(sub) -> None:
    """Add this group's subcommands to the parser's subparsers `sub`."""
    p = sub.add_parser("driver", help="start, stop or show the long-lived Spark driver that runs the daily steps",
                       description="A process holding one warm Spark session for the root. With "
                                   "HABITLAKE_RUNNER=driver, the DAGs' Spark steps run in it instead of each "
                                   "starting a JVM and paying its warm-up. serve: run it in the foreground.")
    p.add_argument("action", choices=["start", "stop", "status", "serve"])
    p.set_defaults(func=cmd_driver)
