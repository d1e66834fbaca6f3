"""The shared metastore: a Derby network server that many processes use at once.

Spark's default embedded Derby metastore admits one process at a time, but the SQL endpoint, a
running DAG, a notebook and the cockpit must all see the same `silver.orders` concurrently. So
habitlake runs Derby in network-server mode on 127.0.0.1 and every Spark session connects to it with
Derby's client driver. The server is started on demand (by `habitlake setup` or the first Spark
session) and keeps running in the background; `habitlake metastore stop` ends it.

On a cluster, point HABITLAKE_METASTORE_URL at a shared database (PostgreSQL, MySQL) or at a Hive
metastore service (thrift://...) and this module is not used.
"""
from __future__ import annotations

import fcntl
import os
import subprocess
import time
from pathlib import Path

from habitlake import jars
from habitlake.net import is_listening
from habitlake.settings import Settings

START_TIMEOUT_S = 60.0
DERBY_MAIN = "org.apache.derby.drda.NetworkServerControl"


def _control(settings: Settings, *args: str, capture: bool = True) -> subprocess.CompletedProcess:
    classpath = os.pathsep.join(str(p) for p in jars.derby_server_classpath(settings.jar_dir))
    cmd = ["java", "-cp", classpath, f"-Dderby.system.home={settings.metastore_dir}", DERBY_MAIN,
           *args, "-h", "127.0.0.1", "-p", str(settings.metastore_port)]
    return subprocess.run(cmd, capture_output=capture, text=True, timeout=START_TIMEOUT_S)


def pid_file(settings: Settings) -> Path:
    return settings.metastore_dir / f"derby-{settings.metastore_port}.pid"


def ensure_running(settings: Settings) -> bool:
    """Start the Derby server for these settings unless one answers; True if this call started it."""
    if not settings.uses_embedded_metastore or is_listening(settings.metastore_port):
        return False
    settings.metastore_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.metastore_dir / "start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two processes starting at once: one starts, one waits
        if is_listening(settings.metastore_port):
            return False
        classpath = os.pathsep.join(str(p) for p in jars.derby_server_classpath(settings.jar_dir))
        log = open(settings.metastore_dir / "derby-server.log", "ab")
        proc = subprocess.Popen(
            ["java", "-Xmx512m", "-cp", classpath,
             f"-Dderby.system.home={settings.metastore_dir}", DERBY_MAIN,
             "start", "-h", "127.0.0.1", "-p", str(settings.metastore_port), "-noSecurityManager"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,  # outlives the process that started it
        )
        pid_file(settings).write_text(str(proc.pid))
        deadline = time.monotonic() + START_TIMEOUT_S
        while not is_listening(settings.metastore_port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the metastore server did not start on port {settings.metastore_port}; "
                    f"see {settings.metastore_dir / 'derby-server.log'}"
                )
            time.sleep(0.2)
    return True


def stop(settings: Settings) -> bool:
    """Shut the Derby server down; True if one was running."""
    if not is_listening(settings.metastore_port):
        return False
    _control(settings, "shutdown")
    deadline = time.monotonic() + 20
    while is_listening(settings.metastore_port) and time.monotonic() < deadline:
        time.sleep(0.2)
    pid_file(settings).unlink(missing_ok=True)
    return True


def status(settings: Settings) -> str:
    if not settings.uses_embedded_metastore:
        return f"external metastore: {settings.metastore_url}"
    state = "running" if is_listening(settings.metastore_port) else "stopped"
    return f"Derby network server on 127.0.0.1:{settings.metastore_port}: {state} ({settings.metastore_url})"
