"""Demo domain — Shopping: searching an online store and adding items to the cart."""

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

_QUERY = Slot(
    {
        "en": ("wireless earbuds", "espresso machine", "standing desk", "mechanical keyboard", "air purifier"),
        "zh": ("蓝牙耳机", "电饭煲", "机械键盘", "空气净化器", "双肩包"),
    }
)
_MAX_PRICE = Slot({"en": ("80", "150", "300", "500"), "zh": ("300", "600", "1000", "2000")})
_BRANDS_EN = ("Aurelia", "Northwind", "Kestrel", "Solace", "Vantage")
_BRANDS_ZH = ("悦品", "优选", "极客", "云朵", "小鹿")


def _search(args: dict[str, Any], rng: random.Random) -> Result:
    query = str(args["query"])
    chinese = bool(_CJK.search(query))
    limit = float(args["max_price"])
    price = round(rng.uniform(limit * 0.45, limit * 0.98), 2)
    title = f"{rng.choice(_BRANDS_ZH)}{query}" if chinese else f"{rng.choice(_BRANDS_EN)} {query}"
    return {
        "product_id": f"P{rng.randint(10**7, 10**8 - 1)}",
        "title": title,
        "price": price,
        "currency": "CNY" if chinese else "USD",
        "rating": round(rng.uniform(3.6, 4.9), 1),
        "review_count": rng.randint(12, 9000),
        "in_stock": True,
    }


def _search_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    return _t(
        lang,
        f"Best match: {r['title']} (product {r['product_id']}) for {r['price']} {r['currency']}, rated "
        f"{r['rating']} from {r['review_count']} reviews, in stock.",
        f"最匹配的是{r['title']}（商品{r['product_id']}），价格{r['price']} {r['currency']}，"
        f"评分{r['rating']}（{r['review_count']}条评价），有货。",
    )


def _add(args: dict[str, Any], rng: random.Random) -> Result:
    quantity = int(args["quantity"])
    return {
        "cart_id": f"cart_{rng.randint(10**5, 10**6 - 1)}",
        "product_id": str(args["product_id"]),
        "quantity": quantity,
        "item_count": quantity + rng.randint(0, 4),
    }


def _add_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    return _t(
        lang,
        f"Added {r['quantity']} × {r['product_id']} to your cart; it now holds {r['item_count']} items.",
        f"已把{r['quantity']}件商品{r['product_id']}加入购物车，购物车现有{r['item_count']}件商品。",
    )


def _better_rated(results: list[Result], lang: Lang) -> str:
    a, b = results[0], results[1]
    if a["rating"] == b["rating"]:
        return _t(lang, f"Both products are rated {a['rating']}.", f"两件商品评分相同，都是{a['rating']}。")
    hi, lo = (a, b) if a["rating"] > b["rating"] else (b, a)
    return _t(
        lang,
        f"{hi['title']} is rated higher: {hi['rating']} versus {lo['rating']} for {lo['title']}.",
        f"{hi['title']}评分更高：{hi['rating']}，而{lo['title']}为{lo['rating']}。",
    )


SHOPPING = Domain(
    name="shopping",
    keywords=("shopping", "online store", "cart", "purchase", "product", "购物", "商品", "购物车", "商城", "网购"),
    scenarios={
        "en": (
            "An online shopper looks for a product within budget and adds it to the cart.",
            "Someone furnishing a home office compares products before making a purchase.",
            "A gift buyer checks which of two products has better reviews.",
            "A student compares products in an online store and adds the best one to the cart.",
        ),
        "zh": (
            "在预算内挑选商品并加入购物车的网购用户。",
            "布置家庭办公室、下单前比较商品的人。",
            "挑选礼物、比较两件商品评价好坏的购物者。",
            "预算有限、比较商品并加入购物车的学生。",
        ),
    },
    capabilities=(
        Capability(
            name="search_products",
            description="Search the online store for the best-matching product under a price limit.",
            parameters=_obj(
                {
                    "query": _s("Product to search for, e.g. wireless earbuds"),
                    "max_price": _n("Highest acceptable price in the store's currency", exclusiveMinimum=0),
                }
            ),
            returns=_obj(
                {
                    "product_id": _s("Product identifier"),
                    "title": _s("Product name"),
                    "price": _n("Price", minimum=0),
                    "currency": _s("ISO 4217 currency", pattern="^[A-Z]{3}$"),
                    "rating": _n("Average review rating out of 5", minimum=0, maximum=5),
                    "review_count": _n("Number of reviews", "integer", minimum=0),
                    "in_stock": {"type": "boolean", "description": "Whether it can ship now"},
                }
            ),
            clause={
                "en": "search the online store for {query} under ${max_price}",
                "zh": "在商城搜索{max_price}元以内的{query}",
            },
            slots={"query": _QUERY, "max_price": _MAX_PRICE},
            simulate=_search,
            summarize=_search_text,
            nesting=Nesting("filter", "What to search for and the price limit", ("query", "max_price")),
        ),
        Capability(
            name="add_to_cart",
            description="Add a quantity of a product to the user's shopping cart.",
            parameters=_obj(
                {
                    "product_id": _s("Product identifier"),
                    "quantity": _n("Number of units to add", "integer", minimum=1, maximum=20),
                }
            ),
            returns=_obj(
                {
                    "cart_id": _s("Cart identifier"),
                    "product_id": _s("Product added"),
                    "quantity": _n("Quantity added", "integer", minimum=1),
                    "item_count": _n("Total items now in the cart", "integer", minimum=1),
                }
            ),
            clause={"en": "add {quantity} of that item to my cart", "zh": "把{quantity}件这个商品加入购物车"},
            slots={"quantity": Slot({"en": ("1", "2", "3"), "zh": ("1", "2", "3")})},
            simulate=_add,
            summarize=_add_text,
            consumes=("product_id",),
            nesting=Nesting(
                "items", "Line items to add, each a product and its quantity", ("product_id", "quantity"), True
            ),
        ),
    ),
    sequential=(("search_products", "add_to_cart"),),
    parallel=(
        (
            "search_products",
            "search_products",
            Reasoning(
                {"en": "tell me which of the two products is rated higher", "zh": "告诉我哪件商品的评分更高"},
                _better_rated,
                rank=lambda r: float(r["rating"]),
                many={"en": "tell me which of the three products is rated highest", "zh": "告诉我哪件商品评分最高"},
            ),
        ),
    ),
)
