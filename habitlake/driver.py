"""A long-lived Spark driver for the daily steps: one warm session that every step reuses.

A step in a new process pays the JVM's warm-up every time: Delta's first snapshots and the JIT
compiling Spark's and Delta's code, which on a 2-core machine is more than the day's silver work
itself (`python -m bench ingest` prints both). `habitlake driver start` starts one process that
holds a Spark session; with `HABITLAKE_RUNNER=driver` every Spark step of the DAGs
(`habitlake.launch`) is sent to it instead of starting its own, and runs there exactly as it would
in-process: the same CLI command, its output streamed back to the task's log, its exit code the
task's. Steps run one at a time (a step that arrives meanwhile waits); the session's caches are
cleared after each.

The driver listens on a Unix socket, `<state>/driver/driver.sock` (this machine only; file
permissions guard it). One request per connection, JSON lines both ways:
    -> {"argv": ["silver", "--date", "2025-03-08"], "root": "<the caller's root>"}
    <- {"out": "text"} ... then {"rc": 0}
`{"ping": true}` answers {"pid", "root", "started", "steps", "running"} at once, even mid-step;
`{"stop": true}` stops the driver after its running step.
A caller whose root is not the driver's gets an error: the driver's settings are those of its
own environment, fixed when it started. Restart it after upgrading habitlake (it runs the code it
started with). A step whose caller goes away (a killed task) runs to its end in the driver.
"""
from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from contextlib import redirect_stderr, redirect_stdout
from datetime import datetime, timezone
from pathlib import Path

from habitlake.settings import Settings

START_TIMEOUT_S = 300
MAX_SOCKET_PATH = 100  # AF_UNIX paths are limited to 107 bytes on Linux


def driver_dir(settings: Settings) -> Path:
    return settings.state_dir / "driver"


def socket_path(settings: Settings) -> Path:
    path = driver_dir(settings) / "driver.sock"
    if len(str(path)) > MAX_SOCKET_PATH:
        raise ValueError(f"the driver's socket path {path} is longer than {MAX_SOCKET_PATH} characters "
                         "(a Unix socket limit): set HABITLAKE_STATE to a shorter folder")
    return path


def log_file(settings: Settings) -> Path:
    return driver_dir(settings) / "driver.log"


# --- the client ---------------------------------------------------------------------------------

def _connect(settings: Settings, timeout: float | None = None) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(socket_path(settings)))
    except (FileNotFoundError, ConnectionRefusedError):
        sock.close()
        return None
    return sock


def _request(settings: Settings, message: dict, on_out: Callable[[str], None] | None = None,
             timeout: float | None = None) -> dict | None:
    """Send one request; pass streamed output to `on_out`; the final message (None: no driver)."""
    sock = _connect(settings, timeout)
    if sock is None:
        return None
    with sock, sock.makefile("rw", encoding="utf-8", newline="\n") as stream:
        stream.write(json.dumps(message) + "\n")
        stream.flush()
        for line in stream:
            reply = json.loads(line)
            if "out" not in reply:
                return reply
            if on_out is not None:
                on_out(reply["out"])
    raise ConnectionError(f"the habitlake driver closed the connection without an answer; see {log_file(settings)}")


def ping(settings: Settings, timeout: float = 5) -> dict | None:
    """The driver's pid, root, start time and steps served; None when none answers."""
    try:
        return _request(settings, {"ping": True}, timeout=timeout)
    except (OSError, ConnectionError):
        return None


def submit(settings: Settings, argv: Sequence[str], echo: Callable[[str], None], tail: deque) -> int | None:
    """Run `habitlake <argv>` in the driver, each line of its output to `echo` (the last lines kept
    in `tail`); its exit code, or None when no driver answers."""
    buffered = [""]

    def out(text: str) -> None:
        lines = (buffered[0] + text).split("\n")
        buffered[0] = lines.pop()
        for line in lines:
            echo(line)
            if line.strip():
                tail.append(line)

    reply = _request(settings, {"argv": list(argv), "root": settings.root}, out)
    if reply is None:
        return None
    if buffered[0]:
        out("\n")
    if "error" in reply:
        echo(reply["error"])
        tail.append(reply["error"])
    return int(reply["rc"])


# --- the server ---------------------------------------------------------------------------------

class _Stream(io.TextIOBase):
    """A step's stdout and stderr: each write goes to the caller as {"out": text}. If the caller
    has gone, output is dropped and the step goes on."""

    def __init__(self, conn: socket.socket):
        self.conn, self.gone, self.lock = conn, False, threading.Lock()

    def write(self, text: str) -> int:
        if text:
            self.send({"out": text})
        return len(text)

    def send(self, message: dict) -> None:
        with self.lock:
            if self.gone:
                return
            try:
                self.conn.sendall((json.dumps(message) + "\n").encode("utf-8"))
            except OSError:
                self.gone = True


def _log(text: str) -> None:
    """The driver's own log: its real stdout (a step's output goes to its caller)."""
    print(text, file=sys.__stdout__, flush=True)


class _Interrupted(Exception):
    pass


def _interrupt(*_) -> None:
    raise _Interrupted


def serve(settings: Settings) -> None:
    """Hold a Spark session and run the steps sent to the socket, one at a time, until asked to
    stop (or SIGTERM). Pings and stop requests are answered at once, even while a step runs."""
    from habitlake.spark import get_spark

    path = socket_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    if ping(settings, timeout=30) is not None:
        raise RuntimeError(f"a habitlake driver already serves {path}")
    path.unlink(missing_ok=True)  # left by a driver that was killed
    spark = get_spark(settings, app_name="habitlake-driver")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    os.chmod(path, 0o600)
    server.listen(16)
    state = {"pid": os.getpid(), "root": settings.root, "steps": 0, "running": None,
             "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    one_at_a_time = threading.Lock()

    def step(conn: socket.socket, request: dict) -> None:
        with conn:
            stream = _Stream(conn)
            if request.get("root") != settings.root:
                stream.send({"rc": 2, "error": f"the habitlake driver (pid {state['pid']}) serves the root "
                                               f"{settings.root}, not {request.get('root')}: run the step with "
                                               "that root, or start a driver for this one"})
                return
            argv = [str(a) for a in request["argv"]]
            with one_at_a_time:
                state["steps"] += 1
                number, state["running"] = state["steps"], " ".join(argv)
                _log(f"step {number}: habitlake {' '.join(argv)}")
                t0 = time.monotonic()
                rc = _run_step(argv, stream, f"[habitlake driver pid {state['pid']}, step {number}]")
                spark.catalog.clearCache()
                state["running"] = None
                _log(f"step {number}: exit {rc} after {time.monotonic() - t0:.1f}s"
                     f"{' (its caller had gone)' if stream.gone else ''}")
            stream.send({"rc": rc})

    signal.signal(signal.SIGTERM, _interrupt)
    _log(f"habitlake driver (pid {state['pid']}) serving {settings.root} on {path}")
    try:
        while True:
            conn, _ = server.accept()
            conn.settimeout(30)  # a caller sends its request at once
            try:
                request = json.loads(conn.makefile("r", encoding="utf-8").readline() or "{}")
            except (OSError, ValueError):
                conn.close()
                continue
            conn.settimeout(None)
            if "argv" in request:
                threading.Thread(target=step, args=(conn, request), daemon=True).start()
                continue
            with conn:
                _Stream(conn).send({"rc": 0} if request.get("stop") else state)
            if request.get("stop"):
                with one_at_a_time:  # the running step finishes first
                    break
    except (KeyboardInterrupt, _Interrupted):
        pass
    finally:
        server.close()
        path.unlink(missing_ok=True)
        spark.stop()
        _log("habitlake driver stopped")


def _run_step(argv: list[str], stream: _Stream, banner: str) -> int:
    """`habitlake <argv>` in this process, its output to the caller; its exit code."""
    from habitlake.launch import in_process

    with redirect_stdout(stream), redirect_stderr(stream):
        print(banner)
        try:
            return in_process(argv, deque(maxlen=1))
        except Exception:  # the step failed; the driver serves the next one
            traceback.print_exc()
            return 1


# --- start / stop / status ----------------------------------------------------------------------

def start(settings: Settings, env: Mapping[str, str] | None = None) -> dict:
    """Start the driver in the background (unless one answers) and wait until it serves; its ping.
    `env`: the driver's environment (default: this process's), whose settings it keeps."""
    running = ping(settings)
    if running is not None:
        return running
    driver_dir(settings).mkdir(parents=True, exist_ok=True)
    with open(log_file(settings), "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "habitlake.cli", "driver", "serve"], stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                                env=None if env is None else dict(env))
    deadline = time.monotonic() + START_TIMEOUT_S
    while (running := ping(settings)) is None:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the habitlake driver did not start; see {log_file(settings)}")
        time.sleep(1)
    return running


def stop(settings: Settings, timeout: float = 60) -> bool:
    """Stop the driver (after the step it runs, if any); True if one was running."""
    running = ping(settings)
    if running is None:
        return False
    _request(settings, {"stop": True})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(running["pid"], 0)
        except ProcessLookupError:
            return True
        time.sleep(0.5)
    os.kill(running["pid"], signal.SIGKILL)
    return True


def status(settings: Settings) -> str:
    running = ping(settings)
    if running is None:
        return f"habitlake driver: not running (socket {socket_path(settings)})"
    return (f"habitlake driver: pid {running['pid']}, root {running['root']}, since {running['started']}, "
            f"{running['steps']} step(s) served; log {log_file(settings)}")
