"""Fleet tests run against a real redis-server (see tests/redis_server.py)."""

from tests.redis_server import redis_server, redis_url

__all__ = ["redis_server", "redis_url"]
