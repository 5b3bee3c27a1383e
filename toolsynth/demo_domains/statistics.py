"""Demo domain — Statistics: descriptive statistics of a numeric column and outlier detection."""

from __future__ import annotations

import random
import statistics as stats
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

_DATASET = Slot(
    {
        "en": ("q3_orders", "online_orders_2025", "store_transactions", "wholesale_orders"),
        "zh": ("east_region_orders", "q4_orders", "member_purchases", "flagship_store_sales"),
    }
)
_COLUMN = Slot(
    {
        "en": ("order_total", "items_per_order", "delivery_days", "discount_percent"),
        "zh": ("order_total", "items_per_order", "delivery_days", "discount_percent"),
    }
)
# Plausible range of each column; unknown columns get a generic range.
_RANGES = {
    "order_total": (12.0, 420.0),
    "items_per_order": (1.0, 14.0),
    "delivery_days": (1.0, 9.0),
    "discount_percent": (0.0, 35.0),
}


def _sample(args: dict[str, Any], rng: random.Random) -> list[float]:
    low, high = _RANGES.get(str(args["column"]), (0.0, 100.0))
    n = rng.randint(40, 400)
    mode = rng.uniform(low, low + (high - low) * 0.6)
    return [round(rng.triangular(low, high, mode), 2) for _ in range(n)]


def _describe(args: dict[str, Any], rng: random.Random) -> Result:
    values = _sample(args, rng)
    return {
        "dataset": str(args["dataset"]),
        "column": str(args["column"]),
        "count": len(values),
        "mean": round(stats.fmean(values), 2),
        "median": round(stats.median(values), 2),
        "std_dev": round(stats.stdev(values), 2),
        "min": min(values),
        "max": max(values),
    }


def _describe_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    return _t(
        lang,
        f"{r['column']} in {r['dataset']} ({r['count']} rows): median {r['median']}, mean {r['mean']}, "
        f"standard deviation {r['std_dev']}, range {r['min']}–{r['max']}.",
        f"{r['dataset']}中{r['column']}列（{r['count']}行）：中位数{r['median']}，平均值{r['mean']}，"
        f"标准差{r['std_dev']}，范围{r['min']}–{r['max']}。",
    )


def _outliers(args: dict[str, Any], rng: random.Random) -> Result:
    mean, sd, z = float(args["mean"]), abs(float(args["std_dev"])), float(args["z_threshold"])
    low, high = round(mean - z * sd, 2), round(mean + z * sd, 2)
    count = rng.randint(0, 5)
    outliers = sorted(round(high + rng.uniform(0.1, 1.5) * max(sd, 1.0), 2) for _ in range(count))
    return {
        "dataset": str(args["dataset"]),
        "column": str(args["column"]),
        "z_threshold": z,
        "lower_bound": low,
        "upper_bound": high,
        "outlier_count": count,
        "outliers": outliers,
    }


def _outliers_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    found = ", ".join(f"{v:g}" for v in r["outliers"])
    if not r["outliers"]:
        return _t(
            lang,
            f"No values in {r['column']} fall outside {r['lower_bound']}–{r['upper_bound']} "
            f"({r['z_threshold']:g} standard deviations).",
            f"{r['column']}列没有超出{r['lower_bound']}–{r['upper_bound']}（{r['z_threshold']:g}个标准差）的数值。",
        )
    return _t(
        lang,
        f"{r['outlier_count']} values in {r['column']} fall outside {r['lower_bound']}–{r['upper_bound']} "
        f"({r['z_threshold']:g} standard deviations): {found}.",
        f"{r['column']}列有{r['outlier_count']}个数值超出{r['lower_bound']}–{r['upper_bound']}"
        f"（{r['z_threshold']:g}个标准差）：{found}。",
    )


def _higher_median(results: list[Result], lang: Lang) -> str:
    a, b = results[0], results[1]
    if a["median"] == b["median"]:
        return _t(lang, f"Both columns have the same median, {a['median']}.", f"两列的中位数相同，都是{a['median']}。")
    hi, lo = (a, b) if a["median"] > b["median"] else (b, a)
    return _t(
        lang,
        f"{hi['column']} in {hi['dataset']} has the higher median: {hi['median']} versus {lo['median']} "
        f"for {lo['column']} in {lo['dataset']}.",
        f"{hi['dataset']}的{hi['column']}列中位数更高：{hi['median']}，"
        f"而{lo['dataset']}的{lo['column']}列为{lo['median']}。",
    )


STATISTICS = Domain(
    name="statistics",
    keywords=(
        "median",
        "average",
        "statistic",
        "standard deviation",
        "variance",
        "percentile",
        "outlier",
        "中位数",
        "平均值",
        "平均数",
        "统计",
        "标准差",
        "方差",
        "异常值",
    ),
    scenarios={
        "en": (
            "An analyst needs the median and average of a column of numbers in a dataset.",
            "A data team screens a numeric dataset for outliers before reporting statistics.",
            "A manager compares summary statistics of two numeric measures.",
            "A teacher finds the average and median of a class's test scores and flags any outlier.",
        ),
        "zh": (
            "需要计算数据集中某列数值中位数和平均值的分析师。",
            "在汇报统计结果前排查数值异常值的数据团队。",
            "比较两项数值指标统计摘要的经理。",
            "统计全班成绩的平均值和中位数、并查找异常值的老师。",
        ),
    },
    capabilities=(
        Capability(
            name="describe_numeric_column",
            description="Compute descriptive statistics (count, mean, median, standard deviation, min, max) "
            "of a numeric column in a dataset.",
            parameters=_obj(
                {
                    "dataset": _s("Name of the dataset", pattern="^[a-z0-9_]+$"),
                    "column": _s("Name of the numeric column", pattern="^[a-z0-9_]+$"),
                }
            ),
            returns=_obj(
                {
                    "dataset": _s("Dataset name"),
                    "column": _s("Column name"),
                    "count": _n("Number of non-empty values", "integer", minimum=0),
                    "mean": _n("Arithmetic mean"),
                    "median": _n("Median"),
                    "std_dev": _n("Sample standard deviation", minimum=0),
                    "min": _n("Smallest value"),
                    "max": _n("Largest value"),
                }
            ),
            clause={
                "en": "compute the median and average of the {column} column in the {dataset} dataset",
                "zh": "计算{dataset}数据集中{column}列的中位数和平均值",
            },
            slots={"column": _COLUMN, "dataset": _DATASET},
            simulate=_describe,
            summarize=_describe_text,
        ),
        Capability(
            name="detect_outliers",
            description="Find the values of a numeric column that lie more than a number of standard deviations "
            "from its mean (z-score rule).",
            parameters=_obj(
                {
                    "dataset": _s("Name of the dataset", pattern="^[a-z0-9_]+$"),
                    "column": _s("Name of the numeric column", pattern="^[a-z0-9_]+$"),
                    "mean": _n("Mean of the column"),
                    "std_dev": _n("Standard deviation of the column", minimum=0),
                    "z_threshold": _n(
                        "How many standard deviations from the mean count as an outlier", exclusiveMinimum=0, maximum=6
                    ),
                }
            ),
            returns=_obj(
                {
                    "dataset": _s("Dataset name"),
                    "column": _s("Column name"),
                    "z_threshold": _n("Threshold used"),
                    "lower_bound": _n("Mean minus threshold times standard deviation"),
                    "upper_bound": _n("Mean plus threshold times standard deviation"),
                    "outlier_count": _n("Number of outliers", "integer", minimum=0),
                    "outliers": {"type": "array", "items": {"type": "number"}, "description": "The outlying values"},
                }
            ),
            clause={
                "en": "flag the values more than {z_threshold} standard deviations from the mean",
                "zh": "找出偏离均值超过{z_threshold}个标准差的数值",
            },
            slots={"z_threshold": Slot({"en": ("2", "2.5", "3"), "zh": ("2", "2.5", "3")})},
            simulate=_outliers,
            summarize=_outliers_text,
            consumes=("dataset", "column", "mean", "std_dev"),
        ),
    ),
    sequential=(("describe_numeric_column", "detect_outliers"),),
    parallel=(
        (
            "describe_numeric_column",
            "describe_numeric_column",
            Reasoning(
                {"en": "tell me which of the two columns has the higher median", "zh": "告诉我哪一列的中位数更高"},
                _higher_median,
            ),
        ),
    ),
)
