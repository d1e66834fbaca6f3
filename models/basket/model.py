"""The fitted cart-completion model as one picklable Python object: what the runner logs to MLflow
(flavor "pyfunc": it wraps the object and serves its `predict`) and hands back to `score`.

A `CartCompleter` holds plain pandas frames, no Spark objects, so it pickles, loads without a Spark
session and serves a cart in milliseconds:

- `rules`: every association rule mined as of the cutoff (columns of `train.RULE_COLUMNS`,
  multi-item consequents included): `score` publishes them as gold.basket_rules, and the
  single-consequent ones rank items for a cart;
- `popular`: every item of the training baskets with its basket count and support, most popular
  first: the popularity baseline and the top-up when fewer than N rules apply to a cart.

`predict(model_input)` takes a pandas DataFrame with an `items` column (one cart per row, a list of
item ids) and returns one row per cart x recommended item: `cart` (the input row's position), rank,
item, score, confidence, lift, antecedent (the rule's "because you have ..."; empty for a popular
top-up), source (`rules` or `popular`). It ranks exactly as `recommend.recommend_batch` and
`recommend.fill_with_popular` do in Spark (tests/models/test_basket.py proves it), so the offline
evaluation measures what is served.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from models.basket import recommend as rec
from models.basket import train

OUTPUT_COLUMNS = ("cart", "rank", "item", "score", "confidence", "lift", "antecedent", "source")
RULES_SCHEMA = ("antecedent array<string>, consequent array<string>, antecedent_support double, "
                "consequent_support double, support double, confidence double, lift double, leverage double, "
                "conviction double")
POPULAR_SCHEMA = "item string, freq long, support double"


@dataclass
class CartCompleter:
    rules: pd.DataFrame  # train.RULE_COLUMNS, antecedent / consequent as lists of str
    popular: pd.DataFrame  # item, freq, support; most popular first (ties: item id)
    item_col: str = "product_id"  # what an item is: a product id or a category_l2
    n: int = rec.DEFAULT_N
    score: str = "confidence"  # recommend.SCORES
    fill_popular: bool = True  # top up with popular items when fewer than n rules apply
    mined_as_of: str = ""  # the last day of the baskets the rules were mined from (ISO)
    _single: list[dict] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_frames(cls, rules: DataFrame, popular: DataFrame, **kwargs: Any) -> "CartCompleter":
        """Collect Spark `rules` (train.derive_rules) and `popular` (recommend.popular_items)."""
        rules_pdf = rules.select(*train.RULE_COLUMNS).toPandas()
        for col in ("antecedent", "consequent"):
            rules_pdf[col] = rules_pdf[col].map(list)
        rules_pdf = rules_pdf.sort_values(["lift", "confidence", "support"], ascending=False, kind="stable")
        popular_pdf = popular.select("item", "freq", "support").toPandas()
        popular_pdf = popular_pdf.sort_values(["freq", "item"], ascending=[False, True], kind="stable")
        return cls(rules_pdf.reset_index(drop=True), popular_pdf.reset_index(drop=True), **kwargs)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_single": None}  # the rule index is rebuilt on first use

    def _rules_for_ranking(self) -> list[dict]:
        if self._single is None:
            single = self.rules[self.rules["consequent"].map(len) == 1]
            self._single = single[["antecedent", "consequent", "support", "confidence", "lift"]].to_dict("records")
        return self._single

    def recommend(self, cart, n: int | None = None) -> list[dict]:
        """The top items to add to `cart` (an iterable of item ids): dicts with the keys of
        recommend.REC_COLUMNS and `source`."""
        n = self.n if n is None else n
        cart = [str(item) for item in cart]
        if self.fill_popular:
            support = dict(zip(self.popular["item"], self.popular["support"]))
            got = rec.complete(cart, self._rules_for_ranking(), self.popular["item"], n=n, score=self.score,
                               support=support)
        else:
            got = rec.recommend(cart, self._rules_for_ranking(), n=n, score=self.score)
        return [{**r, "source": "rules" if r["antecedent"] else "popular"} for r in got]

    def predict(self, model_input: pd.DataFrame, n: int | None = None) -> pd.DataFrame:
        """One row per cart of `model_input` (column `items`) x recommended item (OUTPUT_COLUMNS)."""
        if "items" not in model_input.columns:
            raise ValueError(f"model input needs an 'items' column (a list of item ids per cart), "
                             f"got {list(model_input.columns)}")
        rows = [{"cart": position, **r}
                for position, items in enumerate(model_input["items"])
                for r in self.recommend([] if items is None else list(items), n)]
        out = pd.DataFrame(rows, columns=list(OUTPUT_COLUMNS))
        return out.astype({"cart": "int64", "rank": "int64", "score": "float64", "confidence": "float64",
                           "lift": "float64"})

    def rules_frame(self, spark: SparkSession) -> DataFrame:
        """The rules as a Spark DataFrame (train.RULE_COLUMNS)."""
        return spark.createDataFrame(self.rules[list(train.RULE_COLUMNS)], RULES_SCHEMA)

    def popular_frame(self, spark: SparkSession) -> DataFrame:
        """The popularity ranking as a Spark DataFrame (item, freq, support)."""
        return spark.createDataFrame(self.popular[["item", "freq", "support"]], POPULAR_SCHEMA).select(
            "item", F.col("freq").cast("long").alias("freq"), "support")
