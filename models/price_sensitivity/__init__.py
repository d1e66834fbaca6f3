"""Price sensitivity per customer: how strongly a customer responds to discount depth.

- `features`: what discount each customer was offered each day (eligibility learned from the line
  discounts) and what they did: `customer_days` (bought or not) and `exposed_lines` (did a line
  land in the promoted category), from silver as of a cutoff;
- `split`: time hold-out (model and evidence up to T, test after T);
- `train`: per-customer ratio estimates of the two responses, shrunk towards everyone's
  (`SensitivityModel`, `scores`, bands);
- `evaluate`: held-out log-loss of the promoted-category lines against the pooled response, and the
  Spearman correlation with the planted sensitivity on generated data;
- `spec`: `SPEC` for the runner; `score` writes gold.price_sensitivity_scores.
"""
