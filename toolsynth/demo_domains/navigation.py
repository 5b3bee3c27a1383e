"""Demo domain — Navigation: planning a route and sharing the arrival time."""

from __future__ import annotations

import random
from typing import Any

from toolsynth.demo_domains.base import (
    Capability,
    Domain,
    Lang,
    Nesting,
    Reasoning,
    Result,
    Slot,
    _n,
    _obj,
    _s,
    _t,
)
from toolsynth.language import CJK as _CJK

_MODES = ["driving", "walking", "cycling", "transit"]
_MODE = Slot(
    {"en": tuple(_MODES), "zh": tuple(_MODES)},
    {
        "en": {"transit": "public transport"},
        "zh": {"driving": "驾车", "walking": "步行", "cycling": "骑行", "transit": "公共交通"},
    },
)
_ORIGIN = Slot(
    {
        "en": ("Union Square", "the Ferry Building", "Golden Gate Park", "Chinatown"),
        "zh": ("国贸", "中关村", "望京", "三里屯"),
    }
)
_DESTINATION = Slot(
    {
        "en": ("Oracle Park", "Fisherman's Wharf", "the Mission District", "Twin Peaks"),
        "zh": ("北京南站", "颐和园", "奥林匹克公园", "天坛公园"),
    }
)
_SPEED_KMH = {"driving": 28.0, "walking": 4.8, "cycling": 15.0, "transit": 20.0}
_VIA_EN = {
    "driving": ("Market Street", "Van Ness Avenue", "the Embarcadero"),
    "walking": ("Mission Street", "Columbus Avenue", "Hayes Street"),
    "cycling": ("the Wiggle bike route", "the Valencia Street bike lane", "Polk Street"),
    "transit": ("BART", "the N Judah line", "Muni bus 38"),
}
_VIA_ZH = {
    "driving": ("二环路", "长安街", "三环路"),
    "walking": ("东大街", "胡同小路", "滨河步道"),
    "cycling": ("自行车专用道", "滨河绿道", "亮马河步道"),
    "transit": ("地铁10号线", "地铁4号线", "公交快线"),
}


def _route(args: dict[str, Any], rng: random.Random) -> Result:
    mode = str(args["mode"])
    via = _VIA_ZH if _CJK.search(str(args["origin"]) + str(args["destination"])) else _VIA_EN
    distance = round(rng.uniform(2.0, 9.0) if mode == "walking" else rng.uniform(3.0, 18.0), 1)
    minutes = max(3, round(distance / _SPEED_KMH.get(mode, 20.0) * 60 + rng.randint(0, 8)))
    return {
        "route_id": f"rt_{rng.randint(10**6, 10**7 - 1)}",
        "origin": str(args["origin"]),
        "destination": str(args["destination"]),
        "mode": mode,
        "distance_km": distance,
        "duration_minutes": minutes,
        "via": rng.choice(via.get(mode, via["driving"])),
    }


def _route_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    mode = _MODE.render(r["mode"], lang)
    return _t(
        lang,
        f"By {mode}, {r['origin']} to {r['destination']} is {r['distance_km']} km via {r['via']}, "
        f"about {r['duration_minutes']} minutes (route {r['route_id']}).",
        f"从{r['origin']}{mode}到{r['destination']}全程{r['distance_km']}公里，途经{r['via']}，"
        f"约需{r['duration_minutes']}分钟（路线{r['route_id']}）。",
    )


def _share(args: dict[str, Any], rng: random.Random) -> Result:
    minutes = int(args["duration_minutes"])
    return {
        "share_id": f"sh_{rng.randint(10**5, 10**6 - 1)}",
        "route_id": str(args["route_id"]),
        "contact_name": str(args["contact_name"]),
        "eta_minutes": minutes,
        "status": "delivered",
    }


def _share_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    return _t(
        lang,
        f"Sent {r['contact_name']} your arrival time: about {r['eta_minutes']} minutes away "
        f"(route {r['route_id']}, message {r['status']}).",
        f"已把预计到达时间发给{r['contact_name']}：大约{r['eta_minutes']}分钟后到达（路线{r['route_id']}）。",
    )


def _faster(results: list[Result], lang: Lang) -> str:
    a, b = results[0], results[1]
    if a["duration_minutes"] == b["duration_minutes"]:
        return _t(
            lang,
            f"Both routes, to {a['destination']} and to {b['destination']}, take about "
            f"{a['duration_minutes']} minutes.",
            f"去{a['destination']}和去{b['destination']}的两条路线用时相同，都是约{a['duration_minutes']}分钟。",
        )
    fast, slow = (a, b) if a["duration_minutes"] < b["duration_minutes"] else (b, a)
    return _t(
        lang,
        f"The {_MODE.render(fast['mode'], lang)} route to {fast['destination']} is faster: "
        f"{fast['duration_minutes']} minutes versus {slow['duration_minutes']}.",
        f"去{fast['destination']}的{_MODE.render(fast['mode'], lang)}路线更快：{fast['duration_minutes']}分钟，"
        f"另一条要{slow['duration_minutes']}分钟。",
    )


NAVIGATION = Domain(
    name="navigation",
    keywords=("directions", "route", "navigate", "navigation", "how do i get to", "导航", "路线", "怎么走", "路程"),
    scenarios={
        "en": (
            "Someone heading across town wants a route and tells a friend when they'll arrive.",
            "A visitor plans directions between landmarks in an unfamiliar city.",
            "A commuter compares routes by different ways of getting around.",
            "A delivery driver plans the fastest route between stops.",
        ),
        "zh": (
            "要穿过城市赴约、想规划路线并告诉朋友到达时间的人。",
            "在陌生城市里规划景点之间路线的游客。",
            "比较不同出行方式路线用时的通勤族。",
            "规划各站之间最快路线的送货司机。",
        ),
    },
    capabilities=(
        Capability(
            name="plan_route",
            description="Plan a route between two places for a travel mode, with distance and travel time.",
            parameters=_obj(
                {
                    "origin": _s("Starting place or address"),
                    "destination": _s("Destination place or address"),
                    "mode": _s("Travel mode", enum=_MODES),
                }
            ),
            returns=_obj(
                {
                    "route_id": _s("Route identifier"),
                    "origin": _s("Start"),
                    "destination": _s("End"),
                    "mode": _s("Travel mode", enum=_MODES),
                    "distance_km": _n("Route length in km", minimum=0),
                    "duration_minutes": _n("Expected travel time in minutes", "integer", minimum=0),
                    "via": _s("Main road or line the route takes"),
                }
            ),
            clause={
                "en": "plan a {mode} route from {origin} to {destination}",
                "zh": "按{mode}方式规划从{origin}到{destination}的路线",
            },
            slots={"mode": _MODE, "origin": _ORIGIN, "destination": _DESTINATION},
            nesting=Nesting("trip", "Where the route starts and ends", ("origin", "destination")),
            simulate=_route,
            summarize=_route_text,
        ),
        Capability(
            name="share_eta",
            description="Send a contact a message with the expected arrival time for a planned route.",
            parameters=_obj(
                {
                    "route_id": _s("Identifier of the planned route"),
                    "duration_minutes": _n("Minutes until arrival", "integer", minimum=0),
                    "contact_name": _s("Name of the contact to notify"),
                }
            ),
            returns=_obj(
                {
                    "share_id": _s("Message identifier"),
                    "route_id": _s("Route shared"),
                    "contact_name": _s("Recipient"),
                    "eta_minutes": _n("Minutes until arrival", "integer", minimum=0),
                    "status": _s("Delivery status", enum=["delivered", "pending"]),
                }
            ),
            clause={
                "en": "send my arrival time for that route to {contact_name}",
                "zh": "把这条路线的预计到达时间发给{contact_name}",
            },
            slots={
                "contact_name": Slot(
                    {"en": ("Jordan", "Mei", "Carlos", "Hannah"), "zh": ("小王", "妈妈", "李老师", "陈经理")}
                )
            },
            simulate=_share,
            summarize=_share_text,
            consumes=("route_id", "duration_minutes"),
        ),
    ),
    sequential=(("plan_route", "share_eta"),),
    parallel=(
        (
            "plan_route",
            "plan_route",
            Reasoning(
                {"en": "tell me which of the two routes gets there faster", "zh": "告诉我哪条路线更快到达"},
                _faster,
                rank=lambda r: -float(r["duration_minutes"]),
                many={"en": "tell me which of the three routes gets there fastest", "zh": "告诉我哪条路线最快到达"},
            ),
        ),
    ),
)
