"""The chapters of Sarah's journey, in story order: ``osler journey`` plays them one after another."""

from __future__ import annotations

from collections.abc import Callable

from osler.apps.registration.payer_port import PayerGateway
from osler.chronicle.store import Chronicle
from osler.config import Settings
from osler.synth.journey import StoryClock, front_office_steps
from osler.synth.steps import Step
from osler.synth.visit import care_steps

StepFactory = Callable[[Chronicle, Settings, PayerGateway, StoryClock], list[Step]]
CHAPTERS: list[StepFactory] = [front_office_steps, care_steps]
