#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""tests/guest/svmotion-qmp.py - a tiny QMP client for the svmotion guest
tests (no PyPI packages: the standard library only).

  svmotion-qmp.py hmp SOCKET 'COMMAND'   human-monitor-command: print its output
  svmotion-qmp.py status SOCKET          query-status: print the status
  svmotion-qmp.py events SOCKET          print every event as
                                         "<unix time> <EVENT>" until killed
                                         (or the socket closes); prints
                                         "ready" once connected
  svmotion-qmp.py quit SOCKET            ask QEMU to quit

Exit status: 0 ok, 1 QMP error (its description on stderr), 2 usage.
"""
import json
import socket
import sys
import time


class Qmp:
    def __init__(self, path, timeout=30.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        deadline = time.time() + timeout
        while True:
            try:
                self.sock.connect(path)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        self.buf = b""
        self.events = []
        self.recv()  # greeting
        self.execute("qmp_capabilities")

    def recv(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("QMP socket closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, cmd, args=None):
        req = {"execute": cmd}
        if args:
            req["arguments"] = args
        self.sock.sendall(json.dumps(req).encode() + b"\n")
        while True:
            msg = self.recv()
            if "event" in msg:
                self.events.append(msg)
                continue
            if "error" in msg:
                raise RuntimeError(msg["error"].get("desc", str(msg)))
            return msg.get("return")


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    what, path = argv[1], argv[2]
    try:
        if what == "events":
            q = Qmp(path)
            q.sock.settimeout(None)
            print("ready", flush=True)
            while True:
                msg = q.recv()
                if "event" in msg:
                    print("%.6f %s" % (time.time(), msg["event"]), flush=True)
        q = Qmp(path)
        if what == "hmp" and len(argv) == 4:
            out = q.execute("human-monitor-command",
                            {"command-line": argv[3]})
            sys.stdout.write(out)
        elif what == "status":
            print(q.execute("query-status")["status"])
        elif what == "quit":
            q.execute("quit")
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except EOFError:
        return 0 if what in ("events", "quit") else 1
    except (OSError, RuntimeError, ValueError) as e:
        print("svmotion-qmp: %s: %s" % (what, e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
