"""Scheduling's web pages, behind web login: the patient's booking (patient.py), the staff's schedule editor,
desk, outbox, day list and queue display (staff.py), the check-in kiosk (kiosk.py), and the situation centre's
booking figures for analysts (situation.py). The served app also runs the scheduling clock (offers lapse,
reminders, notices) in the background, once a minute."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import APIRouter, FastAPI
from starlette.concurrency import run_in_threadpool

from medcity.auth.pages import ROLE_HOME
from medcity.scheduling.pages import kiosk, patient, situation, staff
from medcity.scheduling.timer import TICK_SECONDS, tick
from medcity.store.repository import Store

log = logging.getLogger("medcity.scheduling")

ROLE_HOME["registrar"] = "/registry/schedule"


async def _run_clock(store: Store) -> None:
    while True:
        await asyncio.sleep(TICK_SECONDS)
        try:
            await run_in_threadpool(tick, store)
        except Exception as exc:  # a failed tick is retried on the next; it must never stop the clock
            log.error("scheduling tick failed: %s", type(exc).__name__)


@contextlib.asynccontextmanager
async def _clock(app: FastAPI) -> AsyncIterator[None]:
    """While the app serves, the scheduling clock runs beside it (each worker its own: the tick is idempotent)."""
    task = asyncio.get_running_loop().create_task(_run_clock(app.state.store))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


router = APIRouter(include_in_schema=False, lifespan=_clock)
router.include_router(patient.router)
router.include_router(staff.router)
router.include_router(kiosk.router)
router.include_router(situation.router)
