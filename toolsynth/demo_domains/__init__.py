"""What the offline demo model knows: domains, each with atomic capabilities and compositions.

One module per domain; `DOMAINS` lists them in detection order. See `base.py` for the shape.
"""

from toolsynth.demo_domains.base import Capability, Domain, Lang, Reasoning, Result, Slot, seeded
from toolsynth.demo_domains.currency import CURRENCY
from toolsynth.demo_domains.flights import FLIGHTS
from toolsynth.demo_domains.weather import WEATHER

DOMAINS: tuple[Domain, ...] = (WEATHER, CURRENCY, FLIGHTS)

__all__ = ["DOMAINS", "Capability", "Domain", "Lang", "Reasoning", "Result", "Slot", "seeded"]
