"""Thin Celery tasks: each takes ids, calls one service and returns."""

from celery import shared_task

from trading.sweeps import run_sweeps


@shared_task(name="trading.sweep")
def sweep() -> dict:
    return run_sweeps()
