"""Cart completion: given the items in a cart, the top N items to add, by the association rules.

A rule applies to a cart when its whole antecedent is in the cart and its consequent item is not.
Each candidate item takes the score of its best applicable rule:

- `score="confidence"` (default): the rule's confidence, P(item | antecedent), the chance the shopper
  buys the item given part of the cart;
- `score="lift_weighted"`: confidence x lift, which favours items that are specifically associated
  with the cart over items everybody buys anyway (lift = confidence / support(item)).

Ties are broken deterministically, in this order: the score, then the other measure (lift for
`confidence`, confidence for `lift_weighted`), then the rule's support, all descending, then the
item id ascending. The best rule's antecedent, confidence and lift come with each item (the "because
you have ..." explanation).

Only rules with a single-item consequent rank items. A rule A -> {b, c} never gives b a higher
confidence than A -> {b}, which is always among the rules when A -> {b, c} is (same antecedent,
support(A + b) >= support(A + b + c), so its confidence is at least as high), and its lift is the
lift of the pair {b, c}, not of b: multi-item consequents describe bundles for analysts
(gold.basket_rules), they would only blur an item's score.

`recommend` ranks one cart in plain Python over collected rules (e.g. `rules.toPandas()`), for
serving; `recommend_batch` ranks many carts in Spark; both give the same ranking. The popularity
baseline (`popular_items`, `recommend_popular`) recommends the items in most training baskets, and
`fill_with_popular` (`complete` for one cart) tops up the rules' list with popular items when fewer
than N rules apply.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

SCORES = ("confidence", "lift_weighted")
DEFAULT_N = 10
REC_COLUMNS = ("rank", "item", "score", "confidence", "lift", "antecedent")


def _check(score: str, n: int) -> None:
    if score not in SCORES:
        raise ValueError(f"score must be one of {SCORES}, got {score!r}")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")


def _keys(confidence: float, lift: float, support: float, score: str) -> tuple[float, float, float]:
    """(score, second measure, support): the order of a rule for an item, largest first."""
    if score == "confidence":
        return confidence, lift, support
    return confidence * lift, confidence, support


def _rows(rules) -> Iterable[Mapping]:
    if hasattr(rules, "to_dict"):  # a pandas DataFrame
        return rules.to_dict("records")
    return rules


def recommend(cart: Iterable[str], rules, n: int = DEFAULT_N, score: str = "confidence") -> list[dict]:
    """The top `n` items to add to `cart`, as dicts with the keys of REC_COLUMNS (rank from 1).
    `rules`: a pandas DataFrame or an iterable of mappings with antecedent, consequent, support,
    confidence and lift (the columns of `train.derive_rules`)."""
    _check(score, n)
    in_cart = set(cart)
    best: dict[str, tuple] = {}
    for rule in _rows(rules):
        consequent = list(rule["consequent"])
        if len(consequent) != 1 or consequent[0] in in_cart:
            continue
        antecedent = tuple(rule["antecedent"])
        if not set(antecedent) <= in_cart:
            continue
        item = consequent[0]
        key = (*_keys(float(rule["confidence"]), float(rule["lift"]), float(rule["support"]), score), antecedent)
        if item not in best or key > best[item][0]:
            best[item] = (key, float(rule["confidence"]), float(rule["lift"]))
    ranked = sorted(best.items(), key=lambda kv: (-kv[1][0][0], -kv[1][0][1], -kv[1][0][2], kv[0]))[:n]
    return [{"rank": rank, "item": item, "score": key[0], "confidence": confidence, "lift": lift,
             "antecedent": list(key[3])}
            for rank, (item, (key, confidence, lift)) in enumerate(ranked, start=1)]


def complete(cart: Iterable[str], rules, popular: Iterable[str], n: int = DEFAULT_N, score: str = "confidence",
             support: Mapping[str, float] | None = None) -> list[dict]:
    """`recommend`, then the most popular items (`popular`, most popular first) that are neither in
    the cart nor recommended yet, up to `n`: what `fill_with_popular` gives in Spark. A popular item
    scores its support (from `support`, when given; else None) and has no rule (confidence, lift
    None, antecedent empty)."""
    ranked = recommend(cart, rules, n=n, score=score)
    taken = set(cart) | {r["item"] for r in ranked}
    for item in popular:
        if len(ranked) >= n:
            break
        if item not in taken:
            taken.add(item)
            ranked.append({"rank": len(ranked) + 1, "item": item,
                           "score": None if support is None else float(support[item]),
                           "confidence": None, "lift": None, "antecedent": []})
    return ranked


def _score_columns(score: str) -> tuple[Column, Column]:
    if score == "confidence":
        return F.col("confidence"), F.col("lift")
    return F.col("confidence") * F.col("lift"), F.col("confidence")


def recommend_batch(carts: DataFrame, rules: DataFrame, n: int = DEFAULT_N, score: str = "confidence",
                    id_col: str = "cart_id", items_col: str = "items") -> DataFrame:
    """The top `n` items to add to each cart of `carts` (one row per cart: `id_col`, `items_col` an
    array), by `rules`: one row per cart x recommended item with `id_col` and REC_COLUMNS. Carts no
    rule applies to get no rows.

    Each rule is joined to a cart on the first item of its antecedent (an equi-join, so Spark can
    broadcast the rules), then kept when its whole antecedent is in the cart."""
    _check(score, n)
    primary, secondary = _score_columns(score)
    single = rules.filter(F.size("consequent") == 1).select(
        F.element_at("antecedent", 1).alias("_key"), "antecedent",
        F.element_at("consequent", 1).alias("item"),
        primary.alias("_score"), secondary.alias("_second"), F.col("support").alias("_support"),
        "confidence", "lift")
    cart_keys = carts.select(F.col(id_col).alias("_cart"), F.array_distinct(items_col).alias("_items"))
    cart_keys = cart_keys.select("_cart", "_items", F.explode("_items").alias("_key"))
    matched = (
        cart_keys.join(single, "_key", how="inner")
        .filter(F.forall("antecedent", lambda x: F.array_contains(F.col("_items"), x))
                & ~F.array_contains(F.col("_items"), F.col("item")))
    )
    best = matched.groupBy("_cart", "item").agg(
        F.max(F.struct("_score", "_second", "_support", "antecedent", "confidence", "lift")).alias("b"))
    order = Window.partitionBy("_cart").orderBy(
        F.desc("b._score"), F.desc("b._second"), F.desc("b._support"), F.asc("item"))
    return (
        best.withColumn("rank", F.row_number().over(order))
        .filter(F.col("rank") <= n)
        .select(F.col("_cart").alias(id_col), F.col("rank").cast("int").alias("rank"), "item",
                F.col("b._score").alias("score"), F.col("b.confidence").alias("confidence"),
                F.col("b.lift").alias("lift"), F.col("b.antecedent").alias("antecedent"))
    )


def popular_items(basket_rows: DataFrame, items_col: str = "items") -> DataFrame:
    """The popularity baseline's ranking: item, freq (baskets holding it), support (freq / baskets)."""
    n = basket_rows.count()
    return (
        basket_rows.select(F.explode(F.array_distinct(items_col)).alias("item"))
        .groupBy("item").agg(F.count(F.lit(1)).alias("freq"))
        .select("item", F.col("freq").cast("long").alias("freq"),
                (F.col("freq") / F.lit(float(max(n, 1)))).alias("support"))
    )


def recommend_popular(carts: DataFrame, popular: DataFrame, n: int = DEFAULT_N, id_col: str = "cart_id",
                      items_col: str = "items") -> DataFrame:
    """The `n` most popular items not in each cart (ties: item id), with the columns of
    `recommend_batch` (score = the item's support; confidence and lift null, antecedent empty)."""
    _check("confidence", n)
    longest = carts.agg(F.max(F.size(items_col))).first()[0] or 0
    top = popular.orderBy(F.desc("freq"), F.asc("item")).limit(n + int(longest)).collect()
    ranked = F.array(*[F.struct(F.lit(r["item"]).alias("item"), F.lit(float(r["support"])).alias("score"))
                       for r in top]) if top else F.array().cast("array<struct<item:string,score:double>>")
    kept = F.slice(F.filter(ranked, lambda s: ~F.array_contains(F.col(items_col), s["item"])), 1, n)
    return (
        carts.select(F.col(id_col), F.posexplode(kept).alias("pos", "rec"))
        .select(id_col, (F.col("pos") + 1).cast("int").alias("rank"), F.col("rec.item").alias("item"),
                F.col("rec.score").alias("score"), F.lit(None).cast("double").alias("confidence"),
                F.lit(None).cast("double").alias("lift"), F.array().cast("array<string>").alias("antecedent"))
    )


def fill_with_popular(recs: DataFrame, popular_recs: DataFrame, n: int = DEFAULT_N,
                      id_col: str = "cart_id") -> DataFrame:
    """The rules' recommendations first, then popular items not already recommended, up to `n` per
    cart (carts without any rule get the popular list)."""
    both = (recs.withColumn("_source", F.lit(0))
            .unionByName(popular_recs.withColumn("_source", F.lit(1))))
    first = Window.partitionBy(id_col, "item").orderBy("_source", "rank")
    order = Window.partitionBy(id_col).orderBy("_source", "rank")
    return (
        both.withColumn("_n", F.row_number().over(first)).filter(F.col("_n") == 1)
        .withColumn("rank", F.row_number().over(order).cast("int"))
        .filter(F.col("rank") <= n)
        .select(id_col, *REC_COLUMNS)
    )
