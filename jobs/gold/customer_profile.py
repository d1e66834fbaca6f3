"""gold.customer_profile: the customer 360, one row per customer per as-of date.

Grain: one row per customer known at the end of the as-of date D (the CRM version valid then),
including customers who never bought (lifecycle `prospect`). Everything is computed from silver as
of D (see `jobs/gold/asof.py`); money is in the retailer's currency; windows end at D inclusive.
Definitions and thresholds that a business may change live in `conf/gold.yaml`.

Columns (the contract other gold tables, the tag engine, tier rules and audiences use):

identity and demographics
  customer_id, gender, age, province, city, city_tier, climate_zone,
  region (conf/gold.yaml `regions`: a Sichuan sub-region or `outside_sichuan`), in_sichuan,
  member_level, household_type, customer_type (consumer | restaurant), acquisition_channel,
  signup_date, tenure_days
purchases (completed sales; returns and cancelled or refunded orders excluded)
  first_order_date, last_order_date, recency_days (null: never bought),
  orders_total, orders_30d, orders_90d, spend_total, spend_30d, spend_90d,
  avg_order_value, monthly_spend (average spend per month over the last `monthly_window_days`,
  or over the tenure when shorter), repurchase_rate (share of the last `repurchase.periods`
  weeks, or fewer for a newer customer, with at least one purchase), purchase_days_90d,
  avg_interpurchase_days, margin_total, margin_90d (gross margin: line amount - unit cost x qty),
  ltv_estimate (monthly margin x `ltv.horizon_months`, discounted by the recency decay)
RFM (cut points in conf/gold.yaml `rfm`: quantiles of the active customers, or fixed values)
  r_score, f_score, m_score (1..5, 5 best), rfm_score ("545"), rfm_total (3..15)
mix and preference
  channel_mix map<channel, share of orders>, preferred_channel,
  payment_mix map<payment, share of orders>, preferred_payment,
  category_share map<category_l2, share of spend> over every category in the data,
  category_l1_share map<category_l1, share of spend>, top_category (category_l2),
  top_products array<product_id> (up to 5, by quantity), brand_loyalty (spend-weighted mean over
  the customer's categories of the top brand's share of category spend; 1 = always the same brand),
  hour_share array<double> (24 shares of orders by local hour), preferred_hour, preferred_hour_band,
  weekend_share, best_push_hour (the preferred hour minus `push.lead_hours`),
  preferred_push_channel (sms | app_push | wechat, from the platforms the customer uses)
price and promotion
  promo_order_share (share of orders with a promotion or coupon), discount_rate (discount / gross),
  price_sensitivity (0..1: mean percentile of promo_order_share and discount_rate among buyers),
  campaign_sends, campaign_conversions, promo_response_rate (conversions / sends)
engagement and service
  views_30d, searches_30d, cart_adds_30d, favorites_30d, reviews_total, avg_rating,
  complaints_total, deliveries_total, late_deliveries, late_delivery_rate
lifecycle
  lifecycle_stage (prospect | new | active | at_risk | churned), is_churned (no purchase for
  `lifecycle.churn_days`, default 90 = three months), days_to_churn
tier, models and tags
  tier, tier_rule (the rule that matched, conf/tiers/*.yaml), segment, churn_risk, churn_band
  (from the model tables once they exist for D, else null), tags array<tag_id>
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from habitlake import catalog
from jobs.gold import config
from jobs.gold.asof import AsOf
from jobs.gold.framework import GoldJob, read_gold

STAGES = ("prospect", "new", "active", "at_risk", "churned")
EVENT_COUNTS = {"view": "views_30d", "search": "searches_30d", "add_cart": "cart_adds_30d",
                "favorite": "favorites_30d"}
# gold model output -> the profile columns taken from it (filled once the models issue lands)
MODEL_COLUMNS = {"customer_segments": ("segment",), "churn_risk": ("churn_risk", "churn_band")}


def days_before(asof: AsOf, column: str | Column) -> Column:
    """Whole days from a date to the as-of date (0 = on D)."""
    return F.datediff(asof.date_lit, F.col(column) if isinstance(column, str) else column)


def within(asof: AsOf, column: str, days: int) -> Column:
    """True for a date among the `days` days ending at D (D inclusive)."""
    return days_before(asof, column) < days


def mix(counts: DataFrame, key: str, value: str, weight: str, name: str) -> DataFrame:
    """Per `key`: `<name>_mix` map value -> share of `weight`, and `preferred_<name>`, the value with
    the largest weight (ties: the alphabetically first, so row order never matters)."""
    counts = counts.withColumn(weight, F.col(weight).cast("double"))
    shares = counts.withColumn("_share", F.col(weight) / F.sum(weight).over(Window.partitionBy(key)))
    return shares.groupBy(key).agg(
        F.map_from_entries(F.array_sort(F.collect_list(F.struct(F.col(value), F.col("_share")))))
        .alias(f"{name}_mix"),
        F.min_by(F.col(value), F.struct(-F.col(weight), F.col(value))).alias(f"preferred_{name}"),
    )


def order_features(asof: AsOf, conf: dict) -> DataFrame:
    """Per buyer: dates, counts, spend, repurchase, promotion use, time of day."""
    p = conf["profile"]
    sales = asof.sales().withColumn("total_amount", F.col("total_amount").cast("double"))
    window = p["monthly_window_days"]
    period_days, periods = p["repurchase"]["period_days"], p["repurchase"]["periods"]
    ago = days_before(asof, "order_date")
    gross = F.col("total_amount") + F.coalesce("discount_amount", F.lit(0.0)) + F.coalesce("coupon_value", F.lit(0.0))
    promo = F.col("promo_id").isNotNull() | F.col("coupon_id").isNotNull()
    rfm_days = conf["rfm"]["window_days"]
    weekend = F.dayofweek("order_ts_local").isin(1, 7)
    agg = sales.groupBy("customer_id").agg(
        F.min("order_date").alias("first_order_date"),
        F.max("order_date").alias("last_order_date"),
        F.count("*").alias("orders_total"),
        F.count(F.when(ago < 30, 1)).alias("orders_30d"),
        F.count(F.when(ago < 90, 1)).alias("orders_90d"),
        F.sum("total_amount").alias("spend_total"),
        F.coalesce(F.sum(F.when(ago < 30, F.col("total_amount"))), F.lit(0.0)).alias("spend_30d"),
        F.coalesce(F.sum(F.when(ago < 90, F.col("total_amount"))), F.lit(0.0)).alias("spend_90d"),
        F.coalesce(F.sum(F.when(ago < window, F.col("total_amount"))), F.lit(0.0)).alias("_spend_window"),
        F.count_distinct(F.when(ago < 90, F.col("order_date"))).alias("purchase_days_90d"),
        F.count_distinct("order_date").alias("_purchase_days"),
        F.count_distinct(F.when(ago < period_days * periods, F.floor(ago / period_days))).alias("_periods_bought"),
        F.avg(F.when(promo, 1.0).otherwise(0.0)).alias("promo_order_share"),
        (F.sum(gross - F.col("total_amount")) / F.sum(gross)).alias("discount_rate"),
        F.avg(F.when(weekend, 1.0).otherwise(0.0)).alias("weekend_share"),
        F.count(F.when(ago < rfm_days, 1)).alias("_orders_rfm"),
        F.sum(F.when(ago < rfm_days, F.col("total_amount"))).alias("_spend_rfm"),
    )
    active_days = days_before(asof, "first_order_date") + 1
    months = F.greatest(F.least(active_days, F.lit(window)), F.lit(30)) / 30.0
    periods_known = F.least(F.ceil(active_days / period_days), F.lit(periods))
    span = F.datediff("last_order_date", "first_order_date")
    return agg.select(
        "*",
        days_before(asof, "last_order_date").alias("recency_days"),
        (F.col("spend_total") / F.col("orders_total")).alias("avg_order_value"),
        (F.col("_spend_window") / months).alias("monthly_spend"),
        (F.col("_periods_bought") / periods_known).alias("repurchase_rate"),
        F.when(F.col("_purchase_days") > 1, span / (F.col("_purchase_days") - 1)).alias("avg_interpurchase_days"),
        months.alias("_months"),
    ).drop("_spend_window", "_purchase_days", "_periods_bought")


def hour_features(asof: AsOf, conf: dict) -> DataFrame:
    """Per buyer: the 24 hourly shares of orders, the preferred hour (ties: earliest) and its band."""
    counts = asof.sales().groupBy("customer_id", F.col("order_hour").alias("h")).agg(F.count("*").alias("n"))
    per = counts.groupBy("customer_id").agg(
        F.map_from_entries(F.collect_list(F.struct("h", "n"))).alias("_by_hour"),
        F.sum("n").alias("_n"),
        F.min_by(F.col("h"), F.struct(-F.col("n"), F.col("h"))).alias("preferred_hour"),
    )
    shares = F.transform(F.sequence(F.lit(0), F.lit(23)),
                         lambda h: F.coalesce(F.element_at("_by_hour", h), F.lit(0)) / F.col("_n"))
    lead = conf["push"]["lead_hours"]
    return per.select(
        "customer_id", shares.alias("hour_share"), "preferred_hour",
        config.hour_band(F.col("preferred_hour"), conf).alias("preferred_hour_band"),
        F.pmod(F.col("preferred_hour") - F.lit(lead), F.lit(24)).alias("best_push_hour"),
    )


def mix_features(asof: AsOf) -> DataFrame:
    sales = asof.sales()
    channel = mix(sales.groupBy("customer_id", "channel").agg(F.count("*").alias("n")),
                  "customer_id", "channel", "n", "channel")
    payment = mix(sales.groupBy("customer_id", "payment_method").agg(F.count("*").alias("n")),
                  "customer_id", "payment_method", "n", "payment")
    return channel.join(payment, "customer_id", "full")


def basket_features(asof: AsOf, conf: dict) -> DataFrame:
    """Per buyer: category shares (every category in the data), top products, brand loyalty, margin."""
    lines = asof.sale_lines().withColumn("line_amount", F.col("line_amount").cast("double"))
    ago = days_before(asof, "order_date")
    margin = F.col("line_amount") - F.col("unit_cost") * F.col("quantity")
    l2 = mix(lines.groupBy("customer_id", "category_l2").agg(F.sum("line_amount").alias("spend")),
             "customer_id", "category_l2", "spend", "category")
    l1 = mix(lines.groupBy("customer_id", "category_l1").agg(F.sum("line_amount").alias("spend")),
             "customer_id", "category_l1", "spend", "category_l1")
    n_top = conf["profile"]["top_products"]
    top = (lines.groupBy("customer_id", "product_id").agg(F.sum("quantity").alias("qty"))
           .groupBy("customer_id")
           .agg(F.slice(F.array_sort(F.collect_list(F.struct(-F.col("qty"), F.col("product_id")))), 1, n_top)
                .alias("_top")))
    brand = (lines.groupBy("customer_id", "category_l2", "brand").agg(F.sum("line_amount").alias("spend"))
             .groupBy("customer_id", "category_l2").agg(F.max("spend").alias("top"), F.sum("spend").alias("all"))
             .groupBy("customer_id").agg((F.sum("top") / F.sum("all")).alias("brand_loyalty")))
    money = lines.groupBy("customer_id").agg(
        F.sum(margin).alias("margin_total"),
        F.coalesce(F.sum(F.when(ago < 90, margin)), F.lit(0.0)).alias("margin_90d"),
    )
    return (l2.select("customer_id", F.col("category_mix").alias("category_share"),
                      F.col("preferred_category").alias("top_category"))
            .join(l1.select("customer_id", F.col("category_l1_mix").alias("category_l1_share")), "customer_id", "full")
            .join(top.select("customer_id", F.transform("_top", lambda x: x["product_id"]).alias("top_products")),
                  "customer_id", "full")
            .join(brand, "customer_id", "full")
            .join(money, "customer_id", "full"))


def engagement_features(asof: AsOf, conf: dict) -> DataFrame | None:
    """Per customer: app activity of the last 30 days and the push channel their platforms imply."""
    events = asof.optional("events")
    if events is None:
        return None
    recent = events.filter(within(asof, "event_date", 30))
    counts = recent.groupBy("customer_id").agg(*[
        F.count(F.when(F.col("event_type") == kind, 1)).alias(column) for kind, column in EVENT_COUNTS.items()])
    by_platform = conf["push"]["channel_by_platform"]
    platform = (events.filter(F.col("customer_id").isNotNull())
                .groupBy("customer_id", "platform").agg(F.count("*").alias("n"))
                .groupBy("customer_id").agg(F.min_by("platform", F.struct(-F.col("n"), F.col("platform"))).alias("_p")))
    pairs = [F.lit(x) for kv in sorted(by_platform.items()) for x in kv]
    push = platform.select("customer_id", F.element_at(F.create_map(*pairs), F.col("_p")).alias("_push"))
    return counts.join(push, "customer_id", "full")


def service_features(asof: AsOf) -> DataFrame:
    """Per customer: reviews, complaints and deliveries (late ones) up to D."""
    frames = []
    if asof.has("reviews"):
        frames.append(asof.table("reviews").groupBy("customer_id").agg(
            F.count("*").alias("reviews_total"), F.avg("rating").alias("avg_rating")))
    if asof.has("complaints"):
        frames.append(asof.table("complaints").groupBy("customer_id").agg(F.count("*").alias("complaints_total")))
    if asof.has("deliveries"):
        owners = asof.table("orders").select("order_id", "customer_id")
        frames.append(asof.table("deliveries").join(owners, "order_id").groupBy("customer_id").agg(
            F.count("*").alias("deliveries_total"),
            F.count(F.when(F.col("is_late"), 1)).alias("late_deliveries")))
    out = None
    for frame in frames:
        out = frame if out is None else out.join(frame, "customer_id", "full")
    return out


def campaign_features(asof: AsOf, conf: dict) -> DataFrame | None:
    """Per customer: campaign sends received by D and how many converted (a purchase inside the
    campaign's window; without a promotion row, within conf campaign.conversion_window_days)."""
    if not asof.has("campaign_sends"):
        return None
    sends = asof.table("campaign_sends").select("campaign_id", "customer_id", F.to_date("sent_ts_local").alias("_sent"))
    if asof.has("promotions"):
        windows = asof.table("promotions").groupBy("campaign_id").agg(
            F.min("start_date").alias("_start"), F.max("end_date").alias("_end"))
        sends = sends.join(windows, "campaign_id", "left")
    else:
        sends = sends.withColumns({"_start": F.lit(None).cast("date"), "_end": F.lit(None).cast("date")})
    days = conf["campaign"]["conversion_window_days"]
    sends = sends.withColumns({"_from": F.coalesce("_start", "_sent"),
                               "_to": F.coalesce("_end", F.date_add("_sent", days - 1))})
    bought = asof.sales().select("customer_id", "order_date").distinct()
    converted = (sends.join(bought, "customer_id")
                 .filter(F.col("order_date").between(F.col("_from"), F.col("_to")))
                 .select("campaign_id", "customer_id").distinct().withColumn("_converted", F.lit(1)))
    return (sends.join(converted, ["campaign_id", "customer_id"], "left").groupBy("customer_id")
            .agg(F.count("*").alias("campaign_sends"),
                 F.coalesce(F.sum("_converted"), F.lit(0)).cast("long").alias("campaign_conversions")))


def customer_base(asof: AsOf, conf: dict) -> DataFrame:
    c = asof.customers()
    return c.select(
        "customer_id", "gender",
        F.floor(F.months_between(asof.date_lit, "birth_date") / 12).cast("int").alias("age"),
        "province", "city", "city_tier", "climate_zone",
        config.region_of(F.col("city"), F.col("province"), conf).alias("region"),
        (F.col("province") == F.lit(conf["sichuan_province"])).alias("in_sichuan"),
        "member_level", "household_type", "customer_type", "acquisition_channel", "signup_date",
        days_before(asof, "signup_date").alias("tenure_days"),
    )


def features(asof: AsOf, conf: dict | None = None) -> DataFrame:
    """Every profile column except tier, model outputs and tags, one row per customer at D."""
    conf = conf or config.load()
    profile = customer_base(asof, conf)
    parts = [order_features(asof, conf), hour_features(asof, conf), mix_features(asof),
             basket_features(asof, conf), engagement_features(asof, conf), service_features(asof),
             campaign_features(asof, conf)]
    for part in parts:
        if part is not None:
            profile = profile.join(part, "customer_id", "left")
    profile = _fill_missing(profile)
    profile = _derived(profile, asof, conf)
    return rfm(profile, asof, conf)


def _fill_missing(profile: DataFrame) -> DataFrame:
    """Counts of things that never happened are 0 (not null); absent sources give 0 columns too."""
    counts = ["orders_total", "orders_30d", "orders_90d", "purchase_days_90d", *EVENT_COUNTS.values(),
              "reviews_total", "complaints_total", "deliveries_total", "late_deliveries", "campaign_sends",
              "campaign_conversions"]
    money = ["spend_total", "spend_30d", "spend_90d", "monthly_spend", "margin_total", "margin_90d"]
    for column in counts:
        profile = profile.withColumn(column, F.coalesce(F.col(column), F.lit(0)).cast("long")) if column in \
            profile.columns else profile.withColumn(column, F.lit(0).cast("long"))
    for column in money:
        profile = profile.withColumn(column, F.coalesce(F.col(column), F.lit(0.0)).cast("double"))
    for column in ("avg_rating", "_push"):
        if column not in profile.columns:
            profile = profile.withColumn(column, F.lit(None).cast("double" if column == "avg_rating" else "string"))
    return profile


def _derived(profile: DataFrame, asof: AsOf, conf: dict) -> DataFrame:
    life, ltv = conf["lifecycle"], conf["profile"]["ltv"]
    recency = F.col("recency_days")
    stage = (F.when(F.col("orders_total") == 0, F.lit("prospect"))
             .when(recency >= life["churn_days"], F.lit("churned"))
             .when(recency >= life["at_risk_days"], F.lit("at_risk"))
             .when(days_before(asof, "first_order_date") < life["new_days"], F.lit("new"))
             .otherwise(F.lit("active")))
    buyers = Window.partitionBy(F.col("orders_total") > 0)
    sensitivity = (F.percent_rank().over(buyers.orderBy("promo_order_share")) +
                   F.percent_rank().over(buyers.orderBy("discount_rate"))) / 2
    monthly_margin = F.col("margin_90d") / F.coalesce(F.least(F.col("_months"), F.lit(3.0)), F.lit(3.0))
    return profile.select(
        "*",
        stage.alias("lifecycle_stage"),
        F.coalesce(recency >= life["churn_days"], F.lit(False)).alias("is_churned"),
        F.when(recency < life["churn_days"], F.lit(life["churn_days"]) - recency).alias("days_to_churn"),
        F.when(F.col("orders_total") > 0, sensitivity).alias("price_sensitivity"),
        F.when(F.col("campaign_sends") > 0, F.col("campaign_conversions") / F.col("campaign_sends"))
        .alias("promo_response_rate"),
        F.when(F.col("deliveries_total") > 0, F.col("late_deliveries") / F.col("deliveries_total"))
        .alias("late_delivery_rate"),
        (monthly_margin * ltv["horizon_months"] * F.exp(-F.coalesce(recency, F.lit(0)) / ltv["decay_days"]))
        .alias("ltv_estimate"),
        F.coalesce(F.col("_push"), F.lit(conf["push"]["default_channel"])).alias("preferred_push_channel"),
    ).drop("_push", "_months")


RFM_MEASURES = {"r": ("recency_days", True), "f": ("_orders_rfm", False), "m": ("_spend_rfm", False)}
RFM_CUT_KEYS = {"r": "recency_days", "f": "orders", "m": "spend"}


def rfm_cuts(profile: DataFrame, conf: dict) -> dict[str, list[float]]:
    """Four ascending cut points per measure: fixed from conf, or the quintiles of the customers
    who bought within the RFM window."""
    r = conf["rfm"]
    if r["method"] == "fixed":
        return {k: [float(x) for x in r["cuts"][RFM_CUT_KEYS[k]]] for k in RFM_MEASURES}
    if r["method"] != "quantile":
        raise ValueError(f"conf/gold.yaml rfm.method must be quantile or fixed, not {r['method']!r}")
    quintiles = [0.2, 0.4, 0.6, 0.8]
    row = profile.filter(F.col("_orders_rfm") > 0).agg(*[
        F.percentile(F.col(column).cast("double"), quintiles).alias(k) for k, (column, _) in RFM_MEASURES.items()
    ]).first()
    return {k: [float(x) for x in (row[k] or [0.0] * 4)] for k in RFM_MEASURES}


def rfm_score(value: Column, cuts: list[float], lower_is_better: bool) -> Column:
    """1..5: one plus the number of cut points the value is above (reversed for recency)."""
    above = sum((F.coalesce(value > F.lit(c), F.lit(False))).cast("int") for c in cuts)
    return (F.lit(5) - above) if lower_is_better else (F.lit(1) + above)


def rfm(profile: DataFrame, asof: AsOf, conf: dict) -> DataFrame:
    cuts = rfm_cuts(profile, conf)
    bought = F.col("orders_total") > 0
    scores = {f"{k}_score": F.when(bought, rfm_score(F.col(column), cuts[k], low))
              for k, (column, low) in RFM_MEASURES.items()}
    out = profile.withColumns(scores)
    return out.withColumns({
        "rfm_score": F.concat(*[F.col(f"{k}_score").cast("string") for k in RFM_MEASURES]),
        "rfm_total": sum(F.col(f"{k}_score") for k in RFM_MEASURES),
    }).drop("_orders_rfm", "_spend_rfm")


def model_columns(profile: DataFrame, asof: AsOf) -> DataFrame:
    """Segment and churn risk from the model tables of the same as-of date, once they exist."""
    for table, columns in MODEL_COLUMNS.items():
        scored = None
        if f"gold.{table}" in catalog.catalog():
            scored = read_gold(asof, table, required=False)
        if scored is None:
            profile = profile.withColumns({c: F.lit(None).cast("string" if c != "churn_risk" else "double")
                                           for c in columns})
        else:
            profile = profile.join(scored.select("customer_id", *columns), "customer_id", "left")
    return profile


def build(asof: AsOf, conf: dict | None = None, tier_rules: str | None = None) -> DataFrame:
    from jobs.gold import tags, tiers

    conf = conf or config.load()
    profile = features(asof, conf)
    rules = tiers.load(tier_rules or asof.options.get("tier_rules") or conf["tier_rules"])
    profile = tiers.apply(profile, rules)
    profile = model_columns(profile, asof)
    return tags.attach(profile, asof)


JOB = GoldJob(table="gold.customer_profile", build=build)
