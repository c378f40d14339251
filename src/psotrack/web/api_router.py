"""The ``/api/v1`` routers: each handler takes one trip to the handler threads, not two.

FastAPI runs a plain (``def``) handler on the handler threads and then, for a route with a
response model, checks the handler's answer against that model on the handler threads again.
Under load the second trip waits in the same queue as the page reads, so an API write took
about twice as long as a page (measured: assessment POST p50 461 ms against a page's 231 ms in
the benchmark's mix). :class:`ApiRouter` hands FastAPI each plain handler as a coroutine that
runs it on the handler threads once; the answer is then checked on the event loop, where the
check of these small models takes microseconds.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool


class ApiRouter(APIRouter):
    """An :class:`~fastapi.APIRouter` whose plain handlers run on the handler threads in one
    trip (see the module text); coroutine handlers are kept as they are."""

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        super().add_api_route(path, one_trip(endpoint), **options)


def one_trip(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint`` as a coroutine that runs it on the handler threads; FastAPI reads the
    parameters, their types and the return type from ``endpoint`` itself (``__wrapped__``)."""
    if inspect.iscoroutinefunction(endpoint):
        return endpoint

    @functools.wraps(endpoint)
    async def handler(*args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(endpoint, *args, **kwargs)

    return handler
