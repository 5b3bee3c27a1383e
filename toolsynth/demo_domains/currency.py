"""Demo domain — Currency: exchange rates and conversions."""

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

_CUR = Slot({"en": ("USD", "EUR", "GBP", "JPY", "CAD", "CHF", "AUD"), "zh": ("CNY", "USD", "EUR", "JPY", "GBP")})
_RATES = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "JPY": 151.0, "CAD": 1.36, "CHF": 0.88, "AUD": 1.52, "CNY": 7.2}


def _rate(args: dict[str, Any], rng: random.Random) -> Result:
    base, target = args["base_currency"], args["target_currency"]
    raw = _RATES.get(target, 1.0) / _RATES.get(base, 1.0)
    return {"base_currency": base, "target_currency": target, "rate": round(raw * (1 + rng.uniform(-0.01, 0.01)), 4)}


def _rate_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    return _t(
        lang,
        f"1 {r['base_currency']} = {r['rate']} {r['target_currency']}.",
        f"1 {r['base_currency']} = {r['rate']} {r['target_currency']}。",
    )


def _convert(args: dict[str, Any], rng: random.Random) -> Result:
    amount = float(args["amount"])
    return {"amount": amount, "rate": args["rate"], "converted_amount": round(amount * float(args["rate"]), 2)}


def _convert_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    return _t(
        lang,
        f"{r['amount']:g} at a rate of {r['rate']} is {r['converted_amount']}.",
        f"按汇率{r['rate']}，{r['amount']:g}可兑换{r['converted_amount']}。",
    )


def _stronger(results: list[Result], lang: Lang) -> str:
    a, b = results[0], results[1]
    best = a if a["rate"] >= b["rate"] else b
    return _t(
        lang,
        f"The better rate is {best['base_currency']}→{best['target_currency']} at {best['rate']}.",
        f"汇率更高的是{best['base_currency']}→{best['target_currency']}，为{best['rate']}。",
    )


CURRENCY = Domain(
    name="currency",
    keywords=("currency", "exchange", "rate", "convert", "dollar", "euro", "汇率", "兑换", "货币", "换汇"),
    scenarios={
        "en": (
            "A traveller needs to understand exchange rates before a trip abroad.",
            "A small business owner converts invoice amounts between currencies.",
            "Someone sending money to family compares what different currencies are worth.",
            "A student studying abroad converts monthly costs at the exchange rate.",
        ),
        "zh": (
            "出国旅行前需要了解汇率的人。",
            "需要在不同货币之间换算发票金额的小企业主。",
            "给家人汇款、比较不同货币价值的人。",
            "在国外留学、按汇率用两种货币规划每月开支的学生。",
        ),
    },
    capabilities=(
        Capability(
            name="get_exchange_rate",
            description="Get the current exchange rate between two currencies.",
            parameters=_obj(
                {
                    "base_currency": _s("ISO 4217 code to convert from", pattern="^[A-Z]{3}$"),
                    "target_currency": _s("ISO 4217 code to convert to", pattern="^[A-Z]{3}$"),
                }
            ),
            returns=_obj(
                {
                    "base_currency": _s("ISO code"),
                    "target_currency": _s("ISO code"),
                    "rate": _n("Units of target currency per unit of base currency"),
                }
            ),
            clause={
                "en": "find the exchange rate from {base_currency} to {target_currency}",
                "zh": "查询{base_currency}兑{target_currency}的汇率",
            },
            slots={"base_currency": _CUR, "target_currency": _CUR},
            simulate=_rate,
            summarize=_rate_text,
        ),
        Capability(
            name="convert_amount",
            description="Convert an amount of money using a given exchange rate.",
            parameters=_obj(
                {
                    "amount": _n("Amount in the base currency", exclusiveMinimum=0),
                    "rate": _n("Exchange rate to apply", exclusiveMinimum=0),
                }
            ),
            returns=_obj(
                {
                    "amount": _n("Original amount"),
                    "rate": _n("Rate applied"),
                    "converted_amount": _n("Amount in the target currency"),
                }
            ),
            clause={"en": "convert {amount} at that rate", "zh": "按这个汇率换算{amount}"},
            slots={"amount": Slot({"en": ("250", "1200", "75", "5000"), "zh": ("300", "1000", "8000")})},
            simulate=_convert,
            summarize=_convert_text,
            consumes=("rate",),
        ),
    ),
    sequential=(("get_exchange_rate", "convert_amount"),),
    parallel=(
        (
            "get_exchange_rate",
            "get_exchange_rate",
            Reasoning(
                {"en": "tell me which of the two rates is higher", "zh": "告诉我哪个汇率更高"},
                _stronger,
                rank=lambda r: float(r["rate"]),
                many={"en": "tell me which of the three rates is highest", "zh": "告诉我哪个汇率最高"},
            ),
        ),
    ),
)
