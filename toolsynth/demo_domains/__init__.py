"""What the offline demo model knows: domains, each with atomic capabilities and compositions.

One module per domain; `DOMAINS` lists them in detection order (on equal keyword counts the earlier
domain wins). See `base.py` for the shape.
"""

from toolsynth.demo_domains.base import Capability, Domain, Lang, Reasoning, Result, Slot, seeded
from toolsynth.demo_domains.calendar import CALENDAR
from toolsynth.demo_domains.currency import CURRENCY
from toolsynth.demo_domains.email import EMAIL
from toolsynth.demo_domains.fitness import FITNESS
from toolsynth.demo_domains.flights import FLIGHTS
from toolsynth.demo_domains.hotels import HOTELS
from toolsynth.demo_domains.movies import MOVIES
from toolsynth.demo_domains.music import MUSIC
from toolsynth.demo_domains.navigation import NAVIGATION
from toolsynth.demo_domains.news import NEWS
from toolsynth.demo_domains.passwords import PASSWORDS
from toolsynth.demo_domains.recipes import RECIPES
from toolsynth.demo_domains.shopping import SHOPPING
from toolsynth.demo_domains.sports import SPORTS
from toolsynth.demo_domains.statistics import STATISTICS
from toolsynth.demo_domains.stocks import STOCKS
from toolsynth.demo_domains.translation import TRANSLATION
from toolsynth.demo_domains.weather import WEATHER

DOMAINS: tuple[Domain, ...] = (
    WEATHER,
    CURRENCY,
    FLIGHTS,
    NEWS,
    STOCKS,
    PASSWORDS,
    STATISTICS,
    HOTELS,
    RECIPES,
    CALENDAR,
    EMAIL,
    MUSIC,
    MOVIES,
    TRANSLATION,
    FITNESS,
    SHOPPING,
    NAVIGATION,
    SPORTS,
)

__all__ = ["DOMAINS", "Capability", "Domain", "Lang", "Reasoning", "Result", "Slot", "seeded"]
