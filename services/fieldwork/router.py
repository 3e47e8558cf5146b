"""Every HTTP route of the fieldwork service, one router per domain."""

from fastapi import APIRouter

from services.fieldwork.appeals.router import router as appeals
from services.fieldwork.auditors.router import router as auditors
from services.fieldwork.grids.router import router as grids
from services.fieldwork.plans.router import router as plans
from services.fieldwork.submissions.router import router as submissions
from services.fieldwork.tasks.router import router as tasks
from services.fieldwork.voice.router import router as voice

routers: list[APIRouter] = [grids, plans, auditors, tasks, submissions, appeals, voice]
