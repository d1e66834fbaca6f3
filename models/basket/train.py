"""FP-growth on baskets with Spark MLlib (`pyspark.ml.fpm.FPGrowth`), and every association rule.

The seeds ask for Apriori; FP-growth finds exactly the same frequent itemsets (all itemsets with
support >= minSupport) without generating candidates. Support of an itemset = the share of training
baskets holding all its items; MLlib keeps itemsets with freq >= ceil(minSupport x baskets).

Rules, and MLlib's single-item consequents
------------------------------------------
`FPGrowthModel.associationRules` only gives rules with ONE item in the consequent (X -> {y}). Tools a
data scientist compares against (mlxtend's `association_rules`, R's arules) give every split of
every frequent itemset I into a non-empty antecedent A and consequent C = I - A, so they find more
rules from the same itemsets ({hot-pot base} -> {tofu, fatty beef} as well). We derive every rule
ourselves from MLlib's frequent itemsets, in Spark (`derive_rules`): each itemset of size k >= 2 is
split 2^k - 2 ways (a bit mask over its sorted items); every subset of a frequent itemset is
frequent, so the supports of A and C are found among the itemsets, and

    support = support(I), confidence = support(I) / support(A), lift = confidence / support(C)

as mlxtend computes them (plus leverage = support - support(A) x support(C) and conviction =
(1 - support(C)) / (1 - confidence), infinite when confidence = 1). The rules with one consequent item
are exactly MLlib's `associationRules` (tests prove it on hand-made baskets and on the UCI data);
`mllib_rules` returns those for comparison. An itemset of size k gives 2^k - 2 rules before the
confidence filter, so rules grow quickly with the longest itemset: raise minSupport (or lower the
basket guard, `features.DEFAULT_MAX_ITEMS`) when `max_itemset_size` gets large.

Thread stack: MLlib's FP-growth ships FP-trees between tasks with Java serialisation, which recurses
once per tree level; a long basket makes a deep tree and overflows the JVM's default 1 MB thread stack
(StackOverflowError). The session factory sets -Xss16m (habitlake/spark.py); the basket guard keeps
trees shallow as well.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from pyspark import StorageLevel
from pyspark.ml.fpm import FPGrowth, FPGrowthModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

RULE_COLUMNS = ("antecedent", "consequent", "antecedent_support", "consequent_support", "support",
                "confidence", "lift", "leverage", "conviction")
ITEMSET_COLUMNS = ("items", "size", "freq", "support")
MAX_SPLIT_BITS = 62  # masks are longs: itemsets longer than this cannot be split (never reached)


@dataclass
class RuleModel:
    """A fitted FP-growth model with its itemsets and rules (both persisted), the parameters it was
    fitted with, its metrics (deterministic: same baskets and parameters, same metrics) and the
    seconds each step took (not metrics: they vary from run to run)."""

    model: FPGrowthModel
    itemsets: DataFrame
    rules: DataFrame
    params: dict
    metrics: dict
    timings: dict = field(default_factory=dict)

    def unpersist(self) -> None:
        self.itemsets.unpersist()
        self.rules.unpersist()


def frequent_itemsets(model: FPGrowthModel, n_baskets: int) -> DataFrame:
    """MLlib's frequent itemsets with sorted items: items, size, freq, support (= freq / baskets)."""
    return model.freqItemsets.select(
        F.array_sort("items").alias("items"),
        F.size("items").alias("size"),
        F.col("freq").cast("long").alias("freq"),
        (F.col("freq") / F.lit(float(n_baskets))).alias("support"),
    )


def derive_rules(itemsets: DataFrame, min_confidence: float, min_consequent_size: int = 1) -> DataFrame:
    """Every rule A -> C with A, C non-empty, A + C a frequent itemset and confidence >=
    `min_confidence` (and at least `min_consequent_size` consequent items), from `itemsets`
    (columns of `frequent_itemsets`; items sorted). Antecedent and consequent come out sorted."""
    if not 0.0 <= min_confidence <= 1.0:
        raise ValueError(f"min_confidence must be in [0, 1], got {min_confidence}")
    support_of = itemsets.select(F.col("items").alias("key"), F.col("support").alias("key_support"))
    splits = (
        itemsets.filter((F.col("size") >= 2) & (F.col("size") <= MAX_SPLIT_BITS))
        .select("items", "support",
                F.explode(F.sequence(F.lit(1).cast("long"),
                                     F.expr("shiftleft(cast(1 as bigint), size(items)) - 2"))).alias("mask"))
        .select("support",
                F.expr("filter(items, (x, i) -> shiftright(mask, i) & 1 = 1)").alias("antecedent"),
                F.expr("filter(items, (x, i) -> shiftright(mask, i) & 1 = 0)").alias("consequent"))
        .filter(F.size("consequent") >= F.lit(min_consequent_size))
    )
    with_a = splits.join(support_of.withColumnRenamed("key_support", "antecedent_support"),
                         splits["antecedent"] == F.col("key"), how="inner").drop("key")
    rules = with_a.join(support_of.withColumnRenamed("key_support", "consequent_support"),
                        with_a["consequent"] == F.col("key"), how="inner").drop("key")
    confidence = F.col("support") / F.col("antecedent_support")
    return (
        rules.withColumn("confidence", confidence)
        .filter(F.col("confidence") >= F.lit(float(min_confidence)))
        .select(
            "antecedent", "consequent",
            F.col("antecedent_support").cast("double").alias("antecedent_support"),
            F.col("consequent_support").cast("double").alias("consequent_support"),
            F.col("support").cast("double").alias("support"),
            F.col("confidence").cast("double").alias("confidence"),
            (F.col("confidence") / F.col("consequent_support")).alias("lift"),
            (F.col("support") - F.col("antecedent_support") * F.col("consequent_support")).alias("leverage"),
            F.when(F.col("confidence") >= F.lit(1.0), F.lit(float("inf")))
            .otherwise((F.lit(1.0) - F.col("consequent_support")) / (F.lit(1.0) - F.col("confidence")))
            .alias("conviction"),
        )
    )


def mllib_rules(model: FPGrowthModel) -> DataFrame:
    """MLlib's own rules (single-item consequents only), arrays sorted: antecedent, consequent,
    support, confidence, lift."""
    return model.associationRules.select(
        F.array_sort("antecedent").alias("antecedent"), F.col("consequent"),
        F.col("support").cast("double").alias("support"), F.col("confidence").cast("double").alias("confidence"),
        F.col("lift").cast("double").alias("lift"))


def effective_min_support(min_support: float, min_count: int, n_baskets: int) -> float:
    """The support FP-growth is run with: `min_support`, raised so that an itemset must be in at
    least `min_count` baskets. Without the floor a share meant for a large retailer is less than
    one basket on a small one (0.002 x 225 baskets = 0.45): every subset of every basket becomes
    frequent, and one 17-item basket alone gives 2^17 itemsets and ~10^8 rules."""
    return max(min_support, min_count / n_baskets)


def fit(basket_rows: DataFrame, min_support: float = 0.01, min_confidence: float = 0.1,
        num_partitions: int | None = None, items_col: str = "items", min_count: int = 1) -> RuleModel:
    """Fit FP-growth on `basket_rows` (one row per basket, `items_col` an array of distinct items)
    and derive every rule. An itemset is frequent when its support is at least `min_support` AND it
    is in at least `min_count` baskets (`effective_min_support`). Runs Spark jobs (counts) and
    returns a `RuleModel` whose itemsets and rules are persisted; params and metrics are plain
    dicts for the runner to log."""
    if not 0.0 < min_support <= 1.0:
        raise ValueError(f"min_support must be in (0, 1], got {min_support}")
    if int(min_count) < 1:
        raise ValueError(f"min_count must be at least 1 basket, got {min_count}")
    started = time.perf_counter()
    data = basket_rows.select(F.col(items_col).alias("items")).filter(F.col("items").isNotNull())
    n_baskets = data.count()
    if n_baskets == 0:
        raise ValueError("no baskets to mine: is the cutoff before the first sale?")
    support = effective_min_support(min_support, int(min_count), n_baskets)
    estimator = FPGrowth(itemsCol="items", minSupport=support, minConfidence=min_confidence)
    if num_partitions is not None:
        estimator = estimator.setNumPartitions(num_partitions)
    model = estimator.fit(data)
    itemsets = frequent_itemsets(model, n_baskets).persist(StorageLevel.MEMORY_AND_DISK)
    sizes = itemsets.agg(F.count(F.lit(1)).alias("n"), F.max("size").alias("max_size"),
                         F.sum(F.when(F.col("size") == 1, 1).otherwise(0)).alias("items")).first()
    fitted = time.perf_counter()
    rules = derive_rules(itemsets, min_confidence).persist(StorageLevel.MEMORY_AND_DISK)
    counts = rules.agg(F.count(F.lit(1)).alias("n"),
                       F.sum(F.when(F.size("consequent") == 1, 1).otherwise(0)).alias("single")).first()
    done = time.perf_counter()
    n_rules, single = int(counts["n"]), int(counts["single"] or 0)
    params = {"min_support": min_support, "min_count": int(min_count), "min_confidence": min_confidence,
              "num_partitions": num_partitions}
    metrics = {
        "baskets": n_baskets,
        "effective_min_support": support,
        "frequent_items": int(sizes["items"] or 0),
        "frequent_itemsets": int(sizes["n"]),
        "max_itemset_size": int(sizes["max_size"] or 0),
        "rules": n_rules,
        "rules_single_consequent": single,
        "rules_multi_consequent": n_rules - single,
    }
    timings = {"fpgrowth_seconds": fitted - started, "rules_seconds": done - fitted}
    return RuleModel(model, itemsets, rules, params, metrics, timings)
