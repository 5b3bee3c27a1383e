"""An MCP server over stdio with four weather and currency tools and fixed, deterministic data.

    toolsynth synth examples/seeds.jsonl --tools "mcp:python examples/tools/weather_mcp_server.py" -o out

Written with the official SDK's `MCPServer` (mcp 2.x's name for FastMCP; `pip install 'toolsynth[mcp]'`).
Typed returns give the tools an output schema; a `ToolError` reaches the client as an error result.
"""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

server = MCPServer("weather", instructions="Current weather, forecasts and currency conversion.")

# City -> (temperature in °C, condition, humidity %, wind km/h)
CITIES: dict[str, tuple[float, str, int, int]] = {
    "Lisbon": (19.0, "Sunny", 58, 14),
    "Toronto": (14.0, "Light rain", 82, 20),
    "Tokyo": (23.0, "Cloudy", 70, 9),
    "Shanghai": (21.0, "Overcast", 75, 12),
    "Berlin": (11.0, "Windy", 64, 31),
}
CONDITIONS = ("Sunny", "Partly cloudy", "Cloudy", "Light rain", "Overcast")
EUR_RATES = {"EUR": 1.0, "USD": 1.08, "GBP": 0.85, "JPY": 162.0, "CNY": 7.8, "CAD": 1.47}

Location = Annotated[str, Field(description='City name, optionally with country, e.g. "Toronto, Canada"')]
Currency = Annotated[str, Field(description="ISO 4217 code, e.g. EUR")]


class Weather(BaseModel):
    location: str
    temperature: float
    unit: Literal["celsius", "fahrenheit"]
    condition: str
    humidity: int
    wind_kph: int


class DayForecast(BaseModel):
    day: int
    high: float
    low: float
    condition: str


class Conversion(BaseModel):
    amount: float
    from_currency: str
    to_currency: str
    rate: float
    converted: float


def city(location: str) -> str:
    """The known city a location names ("Toronto, Canada" -> "Toronto"), or a ToolError."""
    name = location.split(",")[0].strip().title()
    if name not in CITIES:
        raise ToolError(f"no weather data for {location!r}; known cities: {', '.join(CITIES)}")
    return name


def in_unit(celsius: float, unit: str) -> float:
    return round(celsius * 9 / 5 + 32, 1) if unit == "fahrenheit" else celsius


@server.tool()
def list_cities() -> list[str]:
    """List the cities this service has weather data for."""
    return list(CITIES)


@server.tool()
def get_current_weather(
    location: Location,
    unit: Annotated[Literal["celsius", "fahrenheit"], Field(description="Temperature unit")] = "celsius",
) -> Weather:
    """Get the current weather conditions for a city."""
    name = city(location)
    temperature, condition, humidity, wind = CITIES[name]
    return Weather(
        location=name,
        temperature=in_unit(temperature, unit),
        unit=unit,
        condition=condition,
        humidity=humidity,
        wind_kph=wind,
    )


@server.tool()
def get_forecast(
    location: Location, days: Annotated[int, Field(description="Number of days, 1 to 7")] = 3
) -> list[DayForecast]:
    """Get a daily forecast (1 to 7 days) of high and low temperatures in °C for a city."""
    if not 1 <= days <= 7:
        raise ToolError("days must be between 1 and 7")
    name = city(location)
    base = CITIES[name][0]
    start = CONDITIONS.index(CITIES[name][1]) if CITIES[name][1] in CONDITIONS else 0
    return [
        DayForecast(day=d, high=base + d % 3, low=base - 6 + d % 2, condition=CONDITIONS[(start + d) % len(CONDITIONS)])
        for d in range(1, days + 1)
    ]


@server.tool()
def convert_currency(
    amount: Annotated[float, Field(description="Amount in the source currency")],
    from_currency: Currency,
    to_currency: Currency,
) -> Conversion:
    """Convert an amount between currencies (EUR, USD, GBP, JPY, CNY, CAD) at today's fixed rates."""
    source, target = from_currency.upper(), to_currency.upper()
    for code in (source, target):
        if code not in EUR_RATES:
            raise ToolError(f"unknown currency {code!r}; known: {', '.join(EUR_RATES)}")
    rate = round(EUR_RATES[target] / EUR_RATES[source], 6)
    return Conversion(
        amount=amount, from_currency=source, to_currency=target, rate=rate, converted=round(amount * rate, 2)
    )


if __name__ == "__main__":
    server.run()
