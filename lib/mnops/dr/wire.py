"""Tiny clients for the restore drill: PostgreSQL's simple-query protocol and Redis' RESP.

The drill needs a few statements against local servers on 127.0.0.1 with trust authentication;
these two small clients avoid a database driver dependency. They are not general-purpose.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from types import TracebackType


class WireError(RuntimeError):
    """The server answered with an error, or the connection broke."""


class PgConnection:
    """One PostgreSQL session (trust auth, simple query protocol, text results)."""

    def __init__(self, host: str, port: int, user: str = "postgres", database: str = "postgres", timeout: float = 10) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        body = struct.pack("!i", 196608) + b"".join(f"{k}\0{v}\0".encode() for k, v in (("user", user), ("database", database)))
        body += b"\0"
        self.sock.sendall(struct.pack("!i", len(body) + 4) + body)
        self._until_ready()

    def _read_exact(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise WireError("PostgreSQL closed the connection")
            data += chunk
        return data

    def _message(self) -> tuple[bytes, bytes]:
        kind = self._read_exact(1)
        (length,) = struct.unpack("!i", self._read_exact(4))
        return kind, self._read_exact(length - 4)

    def _until_ready(self) -> list[list[str | None]]:
        rows: list[list[str | None]] = []
        error = ""
        while True:
            kind, body = self._message()
            if kind == b"R" and struct.unpack("!i", body[:4])[0] != 0:
                raise WireError("the drill server must use trust authentication")
            if kind == b"E":
                fields = {f[:1].decode(): f[1:].decode() for f in body.split(b"\0") if f}
                error = f"{fields.get('S', 'ERROR')}: {fields.get('M', '')}"
            elif kind == b"D":
                (count,) = struct.unpack("!h", body[:2])
                offset = 2
                row: list[str | None] = []
                for _ in range(count):
                    (size,) = struct.unpack("!i", body[offset : offset + 4])
                    offset += 4
                    if size < 0:
                        row.append(None)
                    else:
                        row.append(body[offset : offset + size].decode())
                        offset += size
                rows.append(row)
            elif kind == b"Z":
                if error:
                    raise WireError(error)
                return rows

    def query(self, sql: str) -> list[list[str | None]]:
        """Run one statement (autocommit) and return its rows as text."""
        payload = sql.encode() + b"\0"
        self.sock.sendall(b"Q" + struct.pack("!i", len(payload) + 4) + payload)
        return self._until_ready()

    def scalar(self, sql: str) -> str | None:
        rows = self.query(sql)
        return rows[0][0] if rows else None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.sendall(b"X" + struct.pack("!i", 4))
        self.sock.close()

    def __enter__(self) -> PgConnection:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


RespValue = str | int | None | list["RespValue"]


class RedisConnection:
    """One Redis connection speaking RESP2."""

    def __init__(self, host: str, port: int, timeout: float = 10) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buffer = b""

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise WireError("Redis closed the connection")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def _read(self) -> RespValue:
        line = self._line()
        kind, rest = line[:1], line[1:].decode()
        if kind == b"+":
            return rest
        if kind == b"-":
            raise WireError(rest)
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            while len(self.buffer) < size + 2:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise WireError("Redis closed the connection")
                self.buffer += chunk
            value, self.buffer = self.buffer[:size], self.buffer[size + 2 :]
            return value.decode()
        if kind == b"*":
            count = int(rest)
            return None if count < 0 else [self._read() for _ in range(count)]
        raise WireError(f"unexpected RESP reply {line[:20]!r}")

    def command(self, *args: str | int) -> RespValue:
        parts = [str(a).encode() for a in args]
        payload = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
        self.sock.sendall(payload)
        return self._read()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RedisConnection:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
