"""The SQL endpoint for BI tools: the Spark Thrift Server (HiveServer2 protocol) over the gold tables.

`habitlake bi start [--port P]` starts one long-lived server process; Superset, Tableau, Power BI
(through the Spark / Hive ODBC or JDBC driver), DBeaver, `beeline` and PyHive connect to
`jdbc:hive2://<host>:<port>/gold` and query `gold.customer_profile` and friends by name.

BI users see gold and nothing else. The server does not use the pipeline's shared metastore (which
names bronze and silver tables too): it keeps a catalog of its own, `<state>/bi/metastore_db`, in
which the only database is `gold`, holding every gold Delta table by its location, registered
afresh at each start. Reading files by path (`SELECT * FROM delta.`/lake/silver/customers``) is
switched off (`spark.sql.runSQLOnFiles=false`), so the bronze and silver zones, the only ones that
hold names and phones in clear, cannot be reached through the endpoint; gold itself carries PII only
as keyed hashes and masks (see README, "Where personal data lives").
`tests/habitlake/test_bi.py` proves both with a real HiveServer2 client.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from habitlake.net import is_listening
from habitlake.settings import Settings

DEFAULT_PORT = 10000
DEFAULT_HOST = "127.0.0.1"
BI_DATABASE = "gold"
START_TIMEOUT_S = 300  # a Spark session plus the server; generous for a loaded 2-core machine
EMBEDDED_DERBY = "org.apache.derby.iapi.jdbc.AutoloadedDriver"


def bi_dir(settings: Settings) -> Path:
    return settings.state_dir / "bi"


def pid_file(settings: Settings) -> Path:
    return bi_dir(settings) / "server.pid"


def log_file(settings: Settings) -> Path:
    return bi_dir(settings) / "server.log"


def jdbc_url(host: str, port: int) -> str:
    return f"jdbc:hive2://{host}:{port}/{BI_DATABASE}"


def bi_settings(settings: Settings) -> Settings:
    """The pipeline's settings with the endpoint's own catalog (embedded Derby: one process uses it)."""
    db = bi_dir(settings) / "metastore_db"
    return settings.with_overrides(
        metastore_url=f"jdbc:derby:;databaseName={db};create=true",
        metastore_driver=EMBEDDED_DERBY,
    )


def server_conf(settings: Settings, host: str, port: int) -> dict[str, str]:
    """Spark settings of the endpoint on top of habitlake's own (jars, Delta, memory, master)."""
    import os

    from habitlake import jars

    # The Thrift server runs each client's statements on its own threads, whose class loader does
    # not see jars added through spark.jars (NoClassDefFoundError on Delta classes): put the Delta
    # and Derby jars on the driver's own class path.
    class_path = os.pathsep.join(str(p) for p in [*jars.jars(settings.jar_dir),
                                                   *jars.derby_client_jars(settings.jar_dir)])
    return {
        "spark.driver.extraClassPath": class_path,
        "spark.sql.runSQLOnFiles": "false",  # no `delta.`/path`` reads around the catalog
        "spark.sql.warehouse.dir": str(bi_dir(settings) / "warehouse"),
        "spark.hadoop.hive.server2.thrift.port": str(port),
        "spark.hadoop.hive.server2.thrift.bind.host": host,
        "spark.hive.server2.thrift.port": str(port),
        "spark.hive.server2.thrift.bind.host": host,
        "spark.sql.hive.thriftServer.singleSession": "false",
    }


def gold_tables(spark, settings: Settings) -> list[tuple[str, str]]:
    """(name, path) of every gold table of the catalog that exists as a Delta table."""
    from habitlake import catalog

    return sorted((tbl.name, tbl.path(settings)) for tbl in catalog.catalog().values()
                  if tbl.layer == "gold" and catalog.exists(spark, settings, tbl))


def register_gold(spark, settings: Settings) -> list[str]:
    """(Re)register every existing gold Delta table in the endpoint's catalog; drop names whose table
    is gone. Returns the registered names."""
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {BI_DATABASE}")
    tables = gold_tables(spark, settings)
    wanted = {name for name, _ in tables}
    for row in spark.sql(f"SHOW TABLES IN {BI_DATABASE}").collect():
        if row["tableName"] not in wanted:
            spark.sql(f"DROP TABLE IF EXISTS {BI_DATABASE}.`{row['tableName']}`")
    for name, path in tables:
        spark.sql(f"CREATE TABLE IF NOT EXISTS {BI_DATABASE}.`{name}` USING DELTA LOCATION '{path}'")
    return [name for name, _ in tables]


def serve(settings: Settings, host: str, port: int) -> None:
    """Run the Thrift server in this process until SIGTERM / SIGINT."""
    from habitlake.spark import get_spark

    endpoint = bi_settings(settings)
    bi_dir(settings).mkdir(parents=True, exist_ok=True)
    spark = get_spark(endpoint, app_name="habitlake-bi", extra=server_conf(settings, host, port))
    names = register_gold(spark, settings)
    jvm = spark.sparkContext._jvm
    jvm.org.apache.spark.sql.hive.thriftserver.HiveThriftServer2.startWithSparkSession(spark._jsparkSession, True)
    print(f"serving {len(names)} gold tables on {jdbc_url(host, port)}: {', '.join(names)}", flush=True)

    def _stop(*_):
        spark.stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    while True:
        time.sleep(3600)


def _read_pid(settings: Settings) -> tuple[int, str, int] | None:
    try:
        pid, host, port = pid_file(settings).read_text().split()
        os.kill(int(pid), 0)
        return int(pid), host, int(port)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None


def start(settings: Settings, port: int = DEFAULT_PORT, host: str = DEFAULT_HOST) -> str:
    """Start the server in the background (unless it runs) and wait until it accepts connections.
    Returns the JDBC URL."""
    running = _read_pid(settings)
    if running:
        return jdbc_url(running[1], running[2])
    if is_listening(port, host):
        raise RuntimeError(f"port {port} on {host} is taken by another program: choose one with --port")
    bi_dir(settings).mkdir(parents=True, exist_ok=True)
    log = open(log_file(settings), "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "habitlake.bi", "--host", host, "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    pid_file(settings).write_text(f"{proc.pid} {host} {port}")
    deadline = time.monotonic() + START_TIMEOUT_S
    while not is_listening(port, host):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(settings)
            raise RuntimeError(f"the SQL endpoint did not start on {host}:{port}; see {log_file(settings)}")
        time.sleep(1)
    return jdbc_url(host, port)


def stop(settings: Settings, timeout: float = 60) -> bool:
    """Stop the server; True if one was running."""
    running = _read_pid(settings)
    pid_file(settings).unlink(missing_ok=True)
    if not running:
        return False
    pid = running[0]
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.5)
    os.killpg(pid, signal.SIGKILL)
    return True


def status(settings: Settings) -> str:
    running = _read_pid(settings)
    if not running:
        return "SQL endpoint: not running"
    pid, host, port = running
    state = "accepting connections" if is_listening(port, host) else "starting"
    return f"SQL endpoint: {state} on {jdbc_url(host, port)} (pid {pid}, log {log_file(settings)})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m habitlake.bi", description="run the SQL endpoint in the foreground")
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    serve(Settings.from_env(), args.host, args.port)


if __name__ == "__main__":
    main()
