"""Demo domain — Recipes: finding a quick recipe and scaling its ingredients."""

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

# ingredient -> (slug, recipe titles, the other ingredients per serving: (name, quantity, unit))
_KNOWN: dict[str, tuple[str, tuple[str, ...], tuple[tuple[str, float, str], ...]]] = {
    "chicken": (
        "chicken",
        ("Lemon garlic chicken", "Chicken and vegetable stir-fry"),
        (("chicken thighs", 150, "g"), ("garlic", 1, "clove"), ("olive oil", 1, "tbsp"), ("lemon", 0.25, "piece")),
    ),
    "chickpeas": (
        "chickpeas",
        ("Spiced chickpea curry", "Crispy chickpea salad"),
        (("chickpeas", 120, "g"), ("tomatoes", 100, "g"), ("onion", 0.5, "piece"), ("cumin", 0.5, "tsp")),
    ),
    "salmon": (
        "salmon",
        ("Honey soy salmon", "Baked salmon with herbs"),
        (("salmon fillet", 140, "g"), ("soy sauce", 1, "tbsp"), ("honey", 1, "tsp"), ("rice", 75, "g")),
    ),
    "mushrooms": (
        "mushrooms",
        ("Creamy mushroom pasta", "Mushroom and spinach omelette"),
        (("mushrooms", 120, "g"), ("pasta", 90, "g"), ("cream", 50, "ml"), ("parmesan", 15, "g")),
    ),
    "tofu": (
        "tofu",
        ("Sesame tofu bowl", "Tofu and broccoli stir-fry"),
        (("firm tofu", 150, "g"), ("broccoli", 80, "g"), ("sesame oil", 1, "tsp"), ("rice", 75, "g")),
    ),
    "豆腐": (
        "doufu",
        ("麻婆豆腐", "家常豆腐"),
        (("豆腐", 150, "克"), ("牛肉末", 40, "克"), ("豆瓣酱", 1, "汤匙"), ("花椒粉", 0.5, "茶匙")),
    ),
    "鸡肉": (
        "jirou",
        ("宫保鸡丁", "香菇滑鸡"),
        (("鸡腿肉", 150, "克"), ("花生", 20, "克"), ("干辣椒", 3, "个"), ("生抽", 1, "汤匙")),
    ),
    "三文鱼": (
        "sanwenyu",
        ("香煎三文鱼", "照烧三文鱼"),
        (("三文鱼", 140, "克"), ("柠檬", 0.25, "个"), ("黑胡椒", 0.5, "茶匙"), ("橄榄油", 1, "汤匙")),
    ),
    "西兰花": (
        "xilanhua",
        ("蒜蓉西兰花", "西兰花炒虾仁"),
        (("西兰花", 150, "克"), ("大蒜", 2, "瓣"), ("盐", 0.5, "茶匙"), ("食用油", 1, "汤匙")),
    ),
    "土豆": (
        "tudou",
        ("酸辣土豆丝", "土豆烧牛肉"),
        (("土豆", 200, "克"), ("青椒", 0.5, "个"), ("白醋", 1, "汤匙"), ("干辣椒", 2, "个")),
    ),
}
_BY_SLUG = {slug: key for key, (slug, _, _) in _KNOWN.items()}
_INGREDIENT = Slot(
    {"en": ("chicken", "chickpeas", "salmon", "mushrooms", "tofu"), "zh": ("豆腐", "鸡肉", "三文鱼", "西兰花", "土豆")}
)


def _search(args: dict[str, Any], rng: random.Random) -> Result:
    ingredient = str(args["ingredient"])
    slug, titles, _ = _KNOWN.get(ingredient, ("dish", (f"Simple {ingredient} bowl",), ()))
    limit = max(10, int(args["max_minutes"]))
    servings = rng.choice([2, 4])
    return {
        "recipe_id": f"rcp-{slug}-{rng.randint(1000, 9999)}",
        "title": rng.choice(titles),
        "main_ingredient": ingredient,
        "total_minutes": rng.randint(10, limit),
        "servings": servings,
        "calories_per_serving": rng.randint(280, 720),
    }


def _search_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    return _t(
        lang,
        f"Try {r['title']} (recipe {r['recipe_id']}): ready in {r['total_minutes']} minutes, serves "
        f"{r['servings']}, {r['calories_per_serving']} kcal per serving.",
        f"推荐{r['title']}（菜谱{r['recipe_id']}）：{r['total_minutes']}分钟做好，{r['servings']}人份，"
        f"每份{r['calories_per_serving']}千卡。",
    )


def _scale(args: dict[str, Any], rng: random.Random) -> Result:
    recipe_id, servings = str(args["recipe_id"]), int(args["servings"])
    parts = recipe_id.split("-")
    key = _BY_SLUG.get(parts[1] if len(parts) > 2 else "", "")
    base = _KNOWN[key][2] if key else (("main ingredient", 150, "g"), ("olive oil", 1, "tbsp"), ("salt", 0.5, "tsp"))
    return {
        "recipe_id": recipe_id,
        "servings": servings,
        "ingredients": [{"name": name, "quantity": round(qty * servings, 2), "unit": unit} for name, qty, unit in base],
    }


def _scale_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    items = ", ".join(f"{i['quantity']:g} {i['unit']} {i['name']}" for i in r["ingredients"])
    items_zh = "、".join(f"{i['name']}{i['quantity']:g}{i['unit']}" for i in r["ingredients"])
    return _t(
        lang,
        f"For {r['servings']} servings of {r['recipe_id']} you need: {items}.",
        f"{r['recipe_id']}做{r['servings']}人份需要：{items_zh}。",
    )


def _quicker(results: list[Result], lang: Lang) -> str:
    a, b = results[0], results[1]
    if a["total_minutes"] == b["total_minutes"]:
        return _t(lang, f"Both recipes take {a['total_minutes']} minutes.", f"两道菜都需要{a['total_minutes']}分钟。")
    fast, slow = (a, b) if a["total_minutes"] < b["total_minutes"] else (b, a)
    return _t(
        lang,
        f"{fast['title']} is quicker: {fast['total_minutes']} minutes versus {slow['total_minutes']} "
        f"for {slow['title']}.",
        f"{fast['title']}更快：{fast['total_minutes']}分钟，而{slow['title']}要{slow['total_minutes']}分钟。",
    )


RECIPES = Domain(
    name="recipes",
    keywords=(
        "recipe",
        "cooking",
        "cook ",
        "ingredient",
        "bake",
        "dinner idea",
        "菜谱",
        "食谱",
        "做菜",
        "烹饪",
        "食材",
    ),
    scenarios={
        "en": (
            "A home cook looks for a quick recipe using an ingredient already in the fridge.",
            "Someone hosting a dinner scales a recipe's ingredients for more guests.",
            "A busy parent compares how long two recipes take to cook.",
            "A parent looks for a weeknight dinner recipe and scales its ingredients to the family's size.",
        ),
        "zh": (
            "想用冰箱里现有食材做一道快手菜、正在找菜谱的人。",
            "请朋友来家吃饭、需要按人数调整食谱用量的主人。",
            "比较两道菜烹饪时间的忙碌家长。",
            "找工作日晚餐菜谱、按家庭人数调整食材分量的家长。",
        ),
    },
    capabilities=(
        Capability(
            name="search_recipes",
            description="Find a recipe built around a main ingredient that can be made within a time limit.",
            parameters=_obj(
                {
                    "ingredient": _s("Main ingredient, e.g. salmon"),
                    "max_minutes": _n(
                        "Longest total preparation and cooking time in minutes", "integer", minimum=10, maximum=240
                    ),
                }
            ),
            returns=_obj(
                {
                    "recipe_id": _s("Recipe identifier"),
                    "title": _s("Recipe name"),
                    "main_ingredient": _s("Main ingredient"),
                    "total_minutes": _n("Total time in minutes", "integer", minimum=1),
                    "servings": _n("Servings the recipe makes", "integer", minimum=1),
                    "calories_per_serving": _n("Energy per serving in kcal", "integer", minimum=0),
                }
            ),
            clause={
                "en": "find a recipe with {ingredient} that takes under {max_minutes} minutes",
                "zh": "找一道用{ingredient}做、{max_minutes}分钟内能完成的菜谱",
            },
            slots={
                "ingredient": _INGREDIENT,
                "max_minutes": Slot({"en": ("20", "30", "45"), "zh": ("20", "30", "40")}),
            },
            simulate=_search,
            summarize=_search_text,
        ),
        Capability(
            name="get_scaled_ingredients",
            description="Get a recipe's ingredient list scaled to a number of servings.",
            parameters=_obj(
                {
                    "recipe_id": _s("Recipe identifier"),
                    "servings": _n("Number of servings to scale to", "integer", minimum=1, maximum=50),
                }
            ),
            returns=_obj(
                {
                    "recipe_id": _s("Recipe identifier"),
                    "servings": _n("Servings the quantities are for", "integer", minimum=1),
                    "ingredients": {
                        "type": "array",
                        "description": "Scaled ingredient quantities",
                        "items": _obj(
                            {
                                "name": _s("Ingredient"),
                                "quantity": _n("Amount", minimum=0),
                                "unit": _s("Unit of the amount"),
                            }
                        ),
                    },
                }
            ),
            clause={"en": "scale that recipe to {servings} servings", "zh": "把这道菜谱的用量调整为{servings}人份"},
            slots={"servings": Slot({"en": ("6", "8", "10"), "zh": ("6", "8", "10")})},
            simulate=_scale,
            summarize=_scale_text,
            consumes=("recipe_id",),
        ),
    ),
    sequential=(("search_recipes", "get_scaled_ingredients"),),
    parallel=(
        (
            "search_recipes",
            "search_recipes",
            Reasoning(
                {"en": "tell me which of the two recipes is quicker to make", "zh": "告诉我哪道菜做起来更快"},
                _quicker,
                rank=lambda r: -float(r["total_minutes"]),
                many={"en": "tell me which of the three recipes is quickest to make", "zh": "告诉我哪道菜做起来最快"},
            ),
        ),
    ),
)
