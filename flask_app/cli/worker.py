"""``relief worker``: the RQ worker that runs the background jobs (:mod:`claims.lifecycle.jobs`) when the web
app has a broker (``RELIEF_REDIS_URL``).  Without a broker the jobs run inside the web process instead."""

from __future__ import annotations

import os
import sys

import click


@click.command()
@click.option("--redis", "redis_url", envvar="RELIEF_REDIS_URL", required=True,
              help="Redis 地址 / the broker, e.g. redis://127.0.0.1:6379/0 (RELIEF_REDIS_URL)")
@click.option("--burst", is_flag=True, help="做完队列中的任务即退出 / run the queued jobs, then exit")
def worker(redis_url: str, burst: bool) -> None:
    """后台任务执行器（RQ）/ Run the background jobs from the Redis queue (RQ worker)."""
    from redis import Redis
    from rq import Queue, SimpleWorker, Worker

    from claims.lifecycle.jobs import QUEUE

    connection = Redis.from_url(redis_url)
    # a forking worker isolates each job; Windows has no fork, so there the jobs run in the worker's process
    worker_class = SimpleWorker if sys.platform == "win32" or not hasattr(os, "fork") else Worker
    click.echo(f"relief worker：队列 {QUEUE} @ {redis_url} / queue {QUEUE} ({worker_class.__name__})")
    worker_class([Queue(QUEUE, connection=connection)], connection=connection).work(burst=burst)
