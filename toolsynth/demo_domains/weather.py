"""Demo domain — Weather: current conditions, forecasts, packing advice."""

from __future__ import annotations

import random
from typing import Any

from toolsynth.demo_domains.base import (
    Capability,
    Domain,
    Lang,
    Reasoning,
    Result,
    Slot,
    _n,
    _obj,
    _s,
    _t,
)

_CITY = Slot(
    {
        "en": ("Paris", "Tokyo", "Toronto", "Nairobi", "Lisbon", "Seoul", "Denver", "Oslo", "Lima", "Cairo"),
        "zh": ("北京", "上海", "广州", "成都", "杭州", "西安", "深圳", "南京"),
    }
)
_UNIT = Slot(
    {"en": ("celsius", "fahrenheit"), "zh": ("celsius", "fahrenheit")},
    {"en": {"celsius": "Celsius", "fahrenheit": "Fahrenheit"}, "zh": {"celsius": "摄氏度", "fahrenheit": "华氏度"}},
)
_CONDITIONS = ("sunny", "cloudy", "light rain", "windy", "overcast", "clear")


def _weather_now(args: dict[str, Any], rng: random.Random) -> Result:
    celsius = rng.randint(-5, 33)
    temp = celsius if args.get("unit") == "celsius" else round(celsius * 9 / 5 + 32)
    return {
        "city": args["city"],
        "temperature": temp,
        "unit": args.get("unit", "celsius"),
        "condition": rng.choice(_CONDITIONS),
        "humidity_percent": rng.randint(20, 95),
    }


def _weather_now_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    sign = "°C" if r["unit"] == "celsius" else "°F"
    return _t(
        lang,
        f"In {r['city']} it is {r['temperature']}{sign} and {r['condition']} (humidity {r['humidity_percent']}%).",
        f"{r['city']}现在{r['temperature']}{sign}，{r['condition']}，湿度{r['humidity_percent']}%。",
    )


def _forecast(args: dict[str, Any], rng: random.Random) -> Result:
    days = int(args["days"])
    return {
        "city": args["city"],
        "days": [
            {
                "day": i + 1,
                "high_c": (hi := rng.randint(5, 32)),
                "low_c": hi - rng.randint(4, 10),
                "rain_chance_percent": rng.randint(0, 90),
            }
            for i in range(days)
        ],
    }


def _forecast_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    days = ", ".join(
        f"day {d['day']}: {d['low_c']}–{d['high_c']}°C, rain {d['rain_chance_percent']}%" for d in r["days"]
    )
    days_zh = "；".join(
        f"第{d['day']}天 {d['low_c']}–{d['high_c']}°C，降雨概率{d['rain_chance_percent']}%" for d in r["days"]
    )
    return _t(lang, f"Forecast for {r['city']}: {days}.", f"{r['city']}的预报：{days_zh}。")


def _packing(args: dict[str, Any], rng: random.Random) -> Result:
    cond = str(args["condition"]).lower()
    items = ["comfortable shoes"]
    if "rain" in cond:
        items += ["umbrella", "waterproof jacket"]
    if "sun" in cond or "clear" in cond:
        items += ["sunglasses", "sunscreen"]
    if "wind" in cond or "overcast" in cond or "cloud" in cond:
        items += ["light sweater"]
    return {"condition": args["condition"], "items": items}


def _packing_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    return _t(
        lang,
        f"For {r['condition']} weather, pack: {', '.join(r['items'])}.",
        f"针对{r['condition']}天气，建议携带：{'、'.join(r['items'])}。",
    )


def _celsius(r: Result) -> float:
    t = float(r["temperature"])
    return t if r.get("unit") == "celsius" else (t - 32) * 5 / 9


def _warmer(results: list[Result], lang: Lang) -> str:
    a, b = results[0], results[1]
    hot, cold = (a, b) if _celsius(a) >= _celsius(b) else (b, a)
    diff = round(_celsius(hot) - _celsius(cold), 1)
    return _t(
        lang,
        f"{hot['city']} is warmer than {cold['city']} by {diff:g} °C.",
        f"{hot['city']}比{cold['city']}暖和{diff:g}°C。",
    )


WEATHER = Domain(
    name="weather",
    keywords=("weather", "forecast", "temperature", "rain", "umbrella", "天气", "气温", "下雨", "预报"),
    scenarios={
        "en": (
            "A traveller checks current conditions before heading out in a city.",
            "Someone planning an outdoor weekend wants to know the coming days' weather.",
            "A person deciding what to pack looks up the weather at their destination.",
            "A commuter compares the weather in two cities they move between.",
        ),
        "zh": (
            "出行前查询城市当前天气的旅行者。",
            "计划周末户外活动、想了解未来几天天气的人。",
            "根据目的地天气决定携带物品的人。",
            "在两座城市之间往返、需要比较两地天气的通勤者。",
        ),
    },
    capabilities=(
        Capability(
            name="get_current_weather",
            description="Get the current weather conditions for a city.",
            parameters=_obj(
                {"city": _s("City name, e.g. Paris"), "unit": _s("Temperature unit", enum=["celsius", "fahrenheit"])}
            ),
            returns=_obj(
                {
                    "city": _s("City name"),
                    "temperature": _n("Current temperature"),
                    "unit": _s("Temperature unit", enum=["celsius", "fahrenheit"]),
                    "condition": _s("Short description of the sky, e.g. light rain"),
                    "humidity_percent": _n("Relative humidity", "integer", minimum=0, maximum=100),
                }
            ),
            clause={
                "en": "check the current weather in {city} in {unit}",
                "zh": "查询{city}现在的天气（温度用{unit}）",
            },
            slots={"city": _CITY, "unit": _UNIT},
            simulate=_weather_now,
            summarize=_weather_now_text,
        ),
        Capability(
            name="get_weather_forecast",
            description="Get the daily weather forecast for a city for the next few days.",
            parameters=_obj(
                {
                    "city": _s("City name"),
                    "days": _n("Number of days to forecast, 1 to 7", "integer", minimum=1, maximum=7),
                }
            ),
            returns=_obj(
                {
                    "city": _s("City name"),
                    "days": {
                        "type": "array",
                        "description": "One entry per day",
                        "items": _obj(
                            {
                                "day": _n("Day number, 1 = tomorrow", "integer"),
                                "high_c": _n("High in °C"),
                                "low_c": _n("Low in °C"),
                                "rain_chance_percent": _n("Chance of rain", "integer"),
                            }
                        ),
                    },
                }
            ),
            clause={"en": "get the {days}-day forecast for {city}", "zh": "获取{city}未来{days}天的天气预报"},
            slots={"days": Slot({"en": ("2", "3", "5"), "zh": ("2", "3", "5")}), "city": _CITY},
            simulate=_forecast,
            summarize=_forecast_text,
        ),
        Capability(
            name="suggest_packing_list",
            description="Suggest what to pack for a given weather condition.",
            parameters=_obj({"condition": _s("Weather condition, e.g. light rain")}),
            returns=_obj(
                {
                    "condition": _s("The condition the list is for"),
                    "items": {"type": "array", "items": {"type": "string"}, "description": "Items to pack"},
                }
            ),
            clause={"en": "suggest what I should pack for that weather", "zh": "根据那里的天气建议我带什么"},
            slots={},
            simulate=_packing,
            summarize=_packing_text,
            consumes=("condition",),
        ),
    ),
    sequential=(("get_current_weather", "suggest_packing_list"),),
    parallel=(
        (
            "get_current_weather",
            "get_current_weather",
            Reasoning(
                {"en": "tell me which of the two cities is warmer", "zh": "告诉我哪座城市更暖和"},
                _warmer,
                rank=_celsius,
                many={"en": "tell me which of the three cities is warmest", "zh": "告诉我哪座城市最暖和"},
            ),
        ),
    ),
)
