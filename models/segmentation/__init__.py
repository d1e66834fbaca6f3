"""Customer segments: K-means (Spark MLlib) on standardised behaviour features, k by silhouette.

- `features`: behaviour features per customer from the customer profile as of a cutoff
  (`profile_as_of`, `behaviour_features`);
- `split`: held-out customers by a seeded hash (`customer_split`);
- `train`: the MLlib pipeline (assembler -> scaler -> K-means), the silhouette curve over k, the
  chosen k and its figure (`fit`, `silhouette_figure`);
- `naming`: readable names and descriptions from the standardised centroids, by fixed rules;
- `evaluate`: silhouette and the adjusted Rand index against the planted personas, on held-out
  customers;
- `gold`: rows of gold.customer_segments and gold.segment_profiles;
- `spec`: `SPEC` for the runner (`habitlake train segmentation`, `habitlake score`).
"""
