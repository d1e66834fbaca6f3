"""Churn risk: will an active customer make no purchase in the next N days (default 90)?

Separate pure functions, no MLflow and no table writes (models/runner.py logs and writes what they
return):

- `features`: one row per eligible customer (a sale in the 90 days up to the cutoff, i.e. active and
  not already churned by conf/gold.yaml's churn_days) as of a cutoff, from data up to the cutoff only:
  recency, frequency and spend over windows and their trend, inter-purchase interval vs recency, late
  deliveries and complaints (plain and decayed), low ratings, app activity, tenure, B2B flag;
- `label`: 1 when the customer has no completed sale in (cutoff, cutoff + N];
- `split`: train on several earlier cutoffs stacked, test on a later cutoff whose label window is
  fully observed (the rule and its strict variant are in split.py);
- `train`: Spark MLlib pipelines, GBTClassifier and LogisticRegression on standardised features,
  fixed seed; feature importances;
- `evaluate`: ROC AUC, PR AUC, Brier score, calibration by decile, the threshold meeting a target
  precision and its recall, and the figures (ROC, calibration, importances);
- `drivers`: score, risk band and the top drivers of each customer (what-if-average contributions),
  the rows of gold.churn_risk;
- `spec`: `SPEC` for the runner: `train_and_evaluate(ctx)` and `score(ctx, model)`.

Flow: AsOf(D) -> Facts -> per cutoff features + labels -> stack train cutoffs -> fit GBT and LR ->
evaluate both on the test cutoff -> keep the better ROC AUC -> score -> gold.churn_risk.
"""
