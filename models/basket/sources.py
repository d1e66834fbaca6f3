"""Sale lines straight from files, for tests, benchmarks and notebooks that mine baskets without
building the lakehouse first. Production reads silver through `jobs.gold.asof.AsOf.sale_lines()`;
these readers give the same columns (order_id, customer_id, order_date, product_id, quantity, and
category_l2 where the source has it) with the same notion of a completed sale.

- `online_retail_sale_lines`: the UCI Online Retail export (../shared/data/online_retail.csv.gz,
  or the sample in tests/fixtures). Kept as silver keeps them through conf/mappings/online_retail.yaml:
  invoices that are not cancellations ("C..."), with a CustomerID, lines with a positive quantity and
  unit price. The full file gives 18,532 invoices (baskets).
- `landing_sale_lines`: the generator's landing files (jobs.landing.generator.generate) of a run
  WITHOUT dirt (dirt=0.0): completed sales are orders whose latest row (by updated_at) has status
  paid or delivered and no ref_order_id (returns reference their sale), their lines with a positive
  quantity, and each product's category_l2. Dirty runs (duplicates, GBK files, prices in fen,
  unknown products, test accounts) need bronze and silver: do not use this reader on them.
"""
from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

SALE_STATUSES = ("paid", "delivered")
CANCELLED_PREFIX = "C"


def online_retail_sale_lines(spark: SparkSession, path: str) -> DataFrame:
    """Completed sale lines of the UCI Online Retail CSV (plain or .gz; columns InvoiceNo, StockCode,
    Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country)."""
    raw = spark.read.csv(str(path), header=True, inferSchema=False)
    customer = F.regexp_replace(F.trim("CustomerID"), r"\.0$", "")
    quantity = F.col("Quantity").cast("int")
    return (
        raw.filter(~F.col("InvoiceNo").startswith(CANCELLED_PREFIX)
                   & (customer != F.lit("")) & F.col("CustomerID").isNotNull()
                   & (quantity > 0) & (F.col("UnitPrice").cast("double") > 0))
        .select(F.col("InvoiceNo").alias("order_id"), customer.alias("customer_id"),
                F.to_date(F.substring("InvoiceDate", 1, 10)).alias("order_date"),
                F.col("StockCode").alias("product_id"), quantity.alias("quantity"))
    )


def landing_sale_lines(spark: SparkSession, landing_dir: str) -> DataFrame:
    """Completed sale lines of a dirt-free generated landing folder, with category_l2."""
    root = str(landing_dir).rstrip("/")
    read = lambda source: spark.read.csv(f"{root}/{source}", header=True, inferSchema=False)  # noqa: E731  (+ dt)
    latest = Window.partitionBy("order_id").orderBy(F.desc("updated_at"))
    sales = (
        read("orders").withColumn("_n", F.row_number().over(latest)).filter(F.col("_n") == 1)
        .filter(F.col("status").isin(*SALE_STATUSES) & F.col("ref_order_id").isNull())
        .select("order_id", "customer_id", F.to_date(F.substring("order_time", 1, 10)).alias("order_date"))
    )
    products = (read("products").groupBy("product_id")
                .agg(F.max_by("category_l2", "updated_at").alias("category_l2")))
    lines = (read("order_lines").filter(F.col("quantity").cast("int") > 0)
             .select("order_id", "product_id", F.col("quantity").cast("int").alias("quantity")))
    return (
        lines.join(sales, "order_id", how="inner")
        .join(F.broadcast(products), "product_id", how="left")
        .select("order_id", "customer_id", "order_date", "product_id", "quantity", "category_l2")
    )
