"""Demo domain — Stocks: live quotes and the value of a position."""

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

_BASE_PRICE = {
    "AAPL": 228.0,
    "MSFT": 415.0,
    "NVDA": 131.0,
    "AMZN": 186.0,
    "GOOGL": 167.0,
    "TSLA": 248.0,
    "KO": 63.0,
    "BABA": 88.0,
    "JD": 34.0,
    "PDD": 121.0,
    "BIDU": 92.0,
    "NIO": 5.4,
    "NTES": 96.0,
}
_SYMBOL = Slot(
    {"en": ("AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "TSLA", "KO"), "zh": ("BABA", "JD", "PDD", "BIDU", "NIO", "NTES")}
)


def _quote(args: dict[str, Any], rng: random.Random) -> Result:
    symbol = str(args["symbol"]).upper()
    base = _BASE_PRICE.get(symbol, rng.uniform(20, 300))
    change = round(rng.uniform(-4.5, 4.5), 2)
    return {
        "symbol": symbol,
        "price": round(base * (1 + change / 100), 2),
        "currency": "USD",
        "change_percent": change,
        "volume": rng.randint(800_000, 60_000_000),
    }


def _quote_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    sign = "+" if r["change_percent"] >= 0 else ""
    return _t(
        lang,
        f"{r['symbol']} is trading at ${r['price']} ({sign}{r['change_percent']}% today, volume {r['volume']:,}).",
        f"{r['symbol']}现价{r['price']}美元，今日涨跌幅{sign}{r['change_percent']}%，成交量{r['volume']}股。",
    )


def _position(args: dict[str, Any], rng: random.Random) -> Result:
    shares, price = int(args["shares"]), float(args["price"])
    return {
        "symbol": str(args["symbol"]),
        "shares": shares,
        "price": price,
        "market_value": round(shares * price, 2),
        "currency": "USD",
    }


def _position_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    return _t(
        lang,
        f"{r['shares']} shares of {r['symbol']} at ${r['price']} are worth ${r['market_value']:,.2f}.",
        f"按{r['price']}美元计算，{r['shares']}股{r['symbol']}市值{r['market_value']:.2f}美元。",
    )


def _bigger_move(results: list[Result], lang: Lang) -> str:
    a, b = results[0], results[1]
    big, small = (a, b) if abs(a["change_percent"]) >= abs(b["change_percent"]) else (b, a)
    return _t(
        lang,
        f"{big['symbol']} moved more today ({big['change_percent']}% versus {small['symbol']}'s "
        f"{small['change_percent']}%).",
        f"{big['symbol']}今天的波动更大（{big['change_percent']}%，而{small['symbol']}为{small['change_percent']}%）。",
    )


STOCKS = Domain(
    name="stocks",
    keywords=(
        "stock price",
        "stock market",
        "stocks",
        "ticker",
        "share price",
        "portfolio",
        "shareholder",
        "股票",
        "股价",
        "股市",
        "持仓",
        "涨跌",
    ),
    scenarios={
        "en": (
            "A retail investor checks stock prices before the market closes.",
            "Someone tracking a personal portfolio wants to know what their stocks are worth.",
            "A trader compares how two stocks moved during the day.",
            "Someone reviews how the shares in their savings portfolio moved today.",
        ),
        "zh": (
            "收盘前查看股价的散户投资者。",
            "想知道自己持仓股票当前市值的人。",
            "比较两只股票当日涨跌的交易员。",
            "查看自己储蓄组合里股票今日涨跌的人。",
        ),
    },
    capabilities=(
        Capability(
            name="get_stock_quote",
            description="Get the latest trading price and daily change for a stock ticker.",
            parameters=_obj({"symbol": _s("Stock ticker symbol, e.g. AAPL", pattern="^[A-Z]{1,5}$")}),
            returns=_obj(
                {
                    "symbol": _s("Ticker symbol"),
                    "price": _n("Latest trade price", exclusiveMinimum=0),
                    "currency": _s("ISO 4217 currency of the price", pattern="^[A-Z]{3}$"),
                    "change_percent": _n("Change since the previous close, in percent"),
                    "volume": _n("Shares traded today", "integer", minimum=0),
                }
            ),
            clause={"en": "get the latest stock quote for {symbol}", "zh": "查询{symbol}的最新股价"},
            slots={"symbol": _SYMBOL},
            simulate=_quote,
            summarize=_quote_text,
        ),
        Capability(
            name="calculate_position_value",
            description="Calculate the market value of a number of shares at a given price.",
            parameters=_obj(
                {
                    "symbol": _s("Stock ticker symbol", pattern="^[A-Z]{1,5}$"),
                    "shares": _n("Number of shares held", "integer", minimum=1),
                    "price": _n("Price per share", exclusiveMinimum=0),
                }
            ),
            returns=_obj(
                {
                    "symbol": _s("Ticker symbol"),
                    "shares": _n("Number of shares", "integer"),
                    "price": _n("Price per share used"),
                    "market_value": _n("Shares times price"),
                    "currency": _s("ISO 4217 currency", pattern="^[A-Z]{3}$"),
                }
            ),
            clause={
                "en": "work out what {shares} shares are worth at that price",
                "zh": "按这个股价算一下{shares}股值多少钱",
            },
            slots={"shares": Slot({"en": ("10", "25", "40", "150"), "zh": ("100", "200", "500")})},
            simulate=_position,
            summarize=_position_text,
            consumes=("symbol", "price"),
        ),
    ),
    sequential=(("get_stock_quote", "calculate_position_value"),),
    parallel=(
        (
            "get_stock_quote",
            "get_stock_quote",
            Reasoning(
                {"en": "tell me which of the two stocks moved more today", "zh": "告诉我哪只股票今天的波动更大"},
                _bigger_move,
                rank=lambda r: abs(float(r["change_percent"])),
                many={"en": "tell me which of the three stocks moved most today", "zh": "告诉我哪只股票今天波动最大"},
            ),
        ),
    ),
)
