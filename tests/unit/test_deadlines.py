"""deadlines.Deadlines: an attempt past its deadline is cancelled and told so; attempts that end
in time, and cancellations from elsewhere, are left as they are."""

from __future__ import annotations

import asyncio

import pytest

from promptha_webhooks.deadlines import Deadlines


async def attempt(deadlines: Deadlines, work_s: float) -> str:
    """Work for `work_s` under the deadline: 'done' or 'timeout' (as AiohttpTransport.send does)."""
    task = deadlines.start()
    try:
        await asyncio.sleep(work_s)
        return "done"
    except asyncio.CancelledError:
        if not deadlines.expired(task):
            raise
        return "timeout"
    finally:
        deadlines.finish(task)


async def test_attempt_past_its_deadline_times_out_and_its_task_goes_on() -> None:
    deadlines = Deadlines(0.05)
    loop = asyncio.get_running_loop()
    started = loop.time()
    outcome = await asyncio.create_task(attempt(deadlines, 5.0))
    assert outcome == "timeout"
    assert 0.05 <= loop.time() - started < 1.0
    assert len(deadlines) == 0
    # The cancellation was withdrawn: the task can keep awaiting afterwards.
    current = asyncio.current_task()
    assert current is not None and current.cancelling() == 0


async def test_attempts_in_time_are_untouched_and_late_ones_time_out_in_order() -> None:
    deadlines = Deadlines(0.2)
    quick = [asyncio.create_task(attempt(deadlines, 0.01)) for _ in range(20)]
    slow = [asyncio.create_task(attempt(deadlines, 3.0)) for _ in range(5)]
    assert await asyncio.gather(*quick) == ["done"] * 20
    assert await asyncio.gather(*slow) == ["timeout"] * 5
    assert len(deadlines) == 0


async def test_deadlines_keep_working_after_the_first_timer() -> None:
    """Attempts started after a timer fired still get theirs (the timer is re-armed)."""
    deadlines = Deadlines(0.05)
    assert await asyncio.create_task(attempt(deadlines, 1.0)) == "timeout"
    late = asyncio.create_task(attempt(deadlines, 1.0))
    await asyncio.sleep(0.02)
    also_late = asyncio.create_task(attempt(deadlines, 1.0))
    assert await asyncio.gather(late, also_late) == ["timeout", "timeout"]


async def test_cancellation_from_elsewhere_still_cancels() -> None:
    deadlines = Deadlines(10.0)
    task = asyncio.create_task(attempt(deadlines, 5.0))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(deadlines) == 0


async def test_cancelled_from_elsewhere_as_the_deadline_passes_still_cancels() -> None:
    """Both at once (a shutdown at the deadline): the task must still stop."""
    deadlines = Deadlines(0.05)
    task = asyncio.create_task(attempt(deadlines, 5.0))
    await asyncio.sleep(0)  # the attempt registers
    loop = asyncio.get_running_loop()
    loop.call_later(0.05, task.cancel)  # scheduled after the deadline timer: same turn
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_start_outside_a_task_is_refused() -> None:
    deadlines = Deadlines(1.0)
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()

    def outside() -> None:
        try:
            deadlines.start()
        except RuntimeError as exc:
            future.set_exception(exc)
        else:
            future.set_result(None)

    loop.call_soon(outside)
    with pytest.raises(RuntimeError, match="must run in a task"):
        await future
