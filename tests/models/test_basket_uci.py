"""Basket rules on the real UCI Online Retail data: the rules agree exactly with mlxtend (an
independent implementation) on the fixture's invoices, multi-item consequents included; the
wholesale guard's figures on the full file; and the session's JVM has the thread stack MLlib's
FP-growth needs for the longest invoices.

What is too slow for the suite is measured by `python -m bench.train_basket --stack-demo` on the
full file (../shared/data/online_retail.csv.gz, 18,532 completed invoices): on every invoice at
min support 0.01, MLlib FP-growth dies with java.lang.StackOverflowError in a JVM with the default
1 MB thread stack (the FP-trees travel between tasks by Java serialisation, which recurses once per
tree level, and invoices of hundreds of items make trees hundreds of levels deep) and runs with
habitlake's -Xss16m; on the guarded baskets (17,026) MLlib and mlxtend find the same 596 itemsets
and 376 rules.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import functions as F

from habitlake.settings import PROJECT_DIR
from habitlake.spark import THREAD_STACK
from models.basket import features, sources, train

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "online_retail_sample.csv.gz"
UCI = PROJECT_DIR.parent / "shared" / "data" / "online_retail.csv.gz"
SAMPLE_SUPPORT, SAMPLE_CONFIDENCE = 0.015, 0.5  # >= 4 of the sample's 205 invoices
TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def sample_model(spark):
    baskets = features.baskets(sources.online_retail_sale_lines(spark, str(FIXTURE))).cache()
    transactions = [list(r["items"]) for r in baskets.select("items").collect()]
    model = train.fit(baskets, min_support=SAMPLE_SUPPORT, min_confidence=SAMPLE_CONFIDENCE)
    yield model, transactions
    model.unpersist()
    baskets.unpersist()


def mlxtend_rules(transactions):
    mlxtend = pytest.importorskip("mlxtend.frequent_patterns")
    import pandas as pd
    from mlxtend.preprocessing import TransactionEncoder

    encoder = TransactionEncoder()
    onehot = pd.DataFrame(encoder.fit(transactions).transform(transactions), columns=encoder.columns_)
    itemsets = mlxtend.fpgrowth(onehot, min_support=SAMPLE_SUPPORT, use_colnames=True)
    rules = mlxtend.association_rules(itemsets, num_itemsets=len(transactions), metric="confidence",
                                      min_threshold=SAMPLE_CONFIDENCE)
    return ({frozenset(s): v for s, v in zip(itemsets["itemsets"], itemsets["support"])},
            {(tuple(sorted(a)), tuple(sorted(c))): (s, k, lift) for a, c, s, k, lift in
             zip(rules["antecedents"], rules["consequents"], rules["support"], rules["confidence"], rules["lift"])})


def test_rules_on_real_invoices_are_exactly_mlxtends(sample_model):
    model, transactions = sample_model
    assert len(transactions) == 205 and model.metrics == {
        "baskets": 205, "effective_min_support": SAMPLE_SUPPORT, "frequent_items": 235, "frequent_itemsets": 345, "max_itemset_size": 4,
        "rules": 189, "rules_single_consequent": 162, "rules_multi_consequent": 27}
    their_sets, their_rules = mlxtend_rules(transactions)
    our_sets = {frozenset(r["items"]): r.support for r in model.itemsets.collect()}
    our_rules = {(tuple(r.antecedent), tuple(r.consequent)): (r.support, r.confidence, r.lift)
                 for r in model.rules.collect()}
    assert set(our_sets) == set(their_sets)
    assert all(our_sets[s] == pytest.approx(their_sets[s], abs=TOLERANCE) for s in our_sets)
    assert set(our_rules) == set(their_rules)
    assert all(our_rules[r] == pytest.approx(their_rules[r], abs=TOLERANCE) for r in our_rules)


def test_mllib_alone_gives_only_the_single_item_consequents(sample_model):
    model, _ = sample_model
    theirs = {(tuple(r.antecedent), tuple(r.consequent)) for r in train.mllib_rules(model.model).collect()}
    ours = {(tuple(r.antecedent), tuple(r.consequent))
            for r in model.rules.filter(F.size("consequent") == 1).collect()}
    assert theirs == ours and len(theirs) == 162  # 27 of the 189 rules MLlib does not give


def test_session_jvm_has_the_thread_stack_fpgrowth_needs(spark):
    bean = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
    assert THREAD_STACK in list(bean.getInputArguments())
    assert THREAD_STACK in spark.sparkContext.getConf().get("spark.executor.extraJavaOptions")


@pytest.mark.slow
def test_the_guard_on_every_uci_invoice(spark):
    if not UCI.exists():
        pytest.skip(f"the UCI Online Retail file is not at {UCI} (shared/ beside the project)")
    baskets = features.baskets(sources.online_retail_sale_lines(spark, str(UCI)))
    kept, stats = features.guard(baskets, max_items=features.DEFAULT_MAX_ITEMS)
    assert stats == {"orders": 18_532, "orders_kept": 17_026, "orders_oversized": 1_506,
                     "oversized_share": pytest.approx(1_506 / 18_532), "items_in_oversized": 117_587,
                     "largest_basket": 541, "max_items": 50}
