"""Connections to the drill's local PostgreSQL and Redis, through their maintained drivers.

    with pg_connect(HOST, port) as conn:           # psycopg 3, autocommit, trust auth
        conn.execute("SELECT 1").fetchone()
    with redis_connect(HOST, port) as conn:        # redis-py, replies decoded to str
        conn.set("key", "value")

Whatever goes wrong on the way (a refused connection, a server killed mid-statement, an error
reply) is one of CLIENT_ERRORS, which the drill expects when it destroys a server on purpose.
"""

from __future__ import annotations

from typing import Any

import psycopg
import redis

# A server gone or answering with an error, from either driver or the socket underneath.
CLIENT_ERRORS: tuple[type[Exception], ...] = (OSError, psycopg.Error, redis.RedisError)


def pg_connect(
    host: str, port: int, user: str = "postgres", database: str = "postgres", timeout: int = 10
) -> psycopg.Connection[Any]:
    """One autocommit session: each statement is its own transaction, as the drill's writer needs."""
    return psycopg.connect(host=host, port=port, user=user, dbname=database, autocommit=True, connect_timeout=timeout)


def redis_connect(host: str, port: int, timeout: float = 10) -> redis.Redis:
    return redis.Redis(host=host, port=port, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=True)
