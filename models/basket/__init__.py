"""Basket rules ("frequently bought together") and cart completion, on Spark MLlib FP-growth.

One module per step, each a pure function of DataFrames and parameters (no MLflow, no I/O; the
runner logs the plain dicts they return):

- `features`: one basket per completed sale order as of a cutoff date, with the guard against huge
  wholesale baskets (`baskets`, `guard`, `basket_features`, `baskets_as_of`);
- `split`: train on orders before T, test on the orders from T on (`time_split`);
- `train`: MLlib FP-growth, frequent itemsets and every association rule, multi-item consequents
  included (`fit` -> `RuleModel`; `derive_rules`, `mllib_rules`);
- `recommend`: cart completion, one cart in Python (`recommend`) or many in Spark
  (`recommend_batch`), and the popularity baseline (`popular_items`, `recommend_popular`);
- `evaluate`: hide part of held-out orders, recommend from the rest, hit rate@K and MAP@K against
  the popularity baseline (`hide_items`, `ranking_metrics`, `evaluate`);
- `model`: the fitted recommender as one picklable object (`CartCompleter`: rules + popularity as
  pandas, `recommend` / `predict`), what the runner logs as a pyfunc model;
- `spec`: the runner's contract (`SPEC`: train as of a cutoff from silver, score -> gold.basket_rules);
- `plots`: the figures and the top-rules table the runner logs;
- `gold`: the rows of `gold.basket_rules` (`basket_rules`, with a stable `rule_id`);
- `sources`: sale lines straight from files (the UCI Online Retail export, generated landing files)
  for tests and benchmarks; production reads silver through `jobs.gold.asof.AsOf`.

Flow: sale lines -> baskets (+ guard stats) -> time split -> fit on train -> rules -> evaluate on
test / recommend / gold.basket_rules.
"""
