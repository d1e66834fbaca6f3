"""Synthetic landing data of the simulated grocer (Wanxiang Fresh / Sichuan frozen foods), with truth.

`generate()` simulates `days` days for a population of `customers` and writes every source of the
landing contract (conf/landing.yaml) under `landing_dir/<source>/dt=YYYY-MM-DD/`, plus the planted
truth under `truth_dir`. Same arguments -> byte-identical files. Pure numpy/polars, one day at a
time for all customers at once.

Modules: world (cities, warehouses, personas, code lists), texts (Chinese names and wording),
catalog (products, bundles, price changes), almanac (holidays, spikes, weather, day context),
customers (population, CRM rows), lifecycle (churn, lapses), promotions (promotions, campaigns,
A/B sends), orders (purchases, baskets, prices), deliveries, feedback (reviews, complaints),
aftersales (returns, status updates), events, inventory, dirt, writers, truth, simulation (the
daily loop), rng (seeded streams), formats (ids, timestamps, money).

Truth files (truth_dir; landing jobs never read them):

- customers.csv: customer_id, persona (family_weekly / office_evening / promo_hunter / hotpot_fan /
  restaurant_buyer / elderly_morning), price_sensitivity (0-1), is_test, churned, churn_date (first
  day without purchases; empty if not churned), churn_cause (natural / late_delivery / complaint),
  late_deliveries (late or failed deliveries written in deliveries files), complaints (rows of kind
  complaint written), lapses (temporary lapses of a few weeks), signup_date, home_city (at the end).
- bundles.csv: bundle_id, antecedent, consequent (selectors "l2:<category_l2>" or "item:<name part>"),
  attach_prob, antecedent_products, consequent_products (';'-separated product ids),
  antecedent_top_product, consequent_top_product (most popular member of each side).
- campaigns.csv: campaign_id, promo_id, promo_type, category_l1, discount_depth, target_tier, channel,
  announced_date, start_date, end_date, coupon_value, redeem_prob (planted mean redemption
  probability of arm A), n_a, n_b, conversion_a, conversion_b (share of the arm with >= 1 sale whose
  order_time falls in [start_date, end_date], clipped to the simulated range), natural_conversion_a
  (arm A conversions without the coupon), true_uplift (share of arm A who bought only because of the
  coupon: the realised causal uplift; conversion_a - conversion_b estimates it). A/B columns are empty
  for discount and bundle campaigns (no sends).
- holidays_spikes.csv: holiday_code, start_date, end_date, category_l2, multiplier: in the window a
  category's expected lines per basket are multiplied (extra lines are added); category_l2 '*' is the
  multiplier of every customer's daily order rate (the two compound: Spring Festival dumplings about
  x3 per basket and x1.4 baskets). Cold weather separately raises hot-pot categories.
- dirt.csv: kind, source, file (relative to landing_dir), line (1-based data line, header not
  counted), key (order_id; order_id|line_no for order_lines; event_id; customer_id). Kinds:
  duplicate (orders, order_lines, events: the line is an identical copy of an earlier line),
  status_update (orders: the order_id again, status delivered or refunded, later updated_at),
  missing_customer_id (orders), negative_quantity (order_lines of a sale), price_in_fen (order_lines:
  unit_price and line_amount x100 as integers), future_timestamp (orders.order_time,
  events.event_time, 2-10 years ahead), mixed_date_format (orders.order_time, events.event_time,
  customers.signup_date), malformed_json (events: truncated line), unknown_product (order_lines,
  events: P9xxxx), test_account (customers: the first row of each test account).
- files.csv: file, source, encoding (utf-8 / gbk), rows (data lines).
- products.csv: product_id, category_l2, popularity (sampling weight), quality_issue.
- cities.csv: city, city_en, province, region (west_sichuan / south_sichuan / northeast_sichuan /
  outside_sichuan), city_tier, climate_zone, warehouse_id.
- manifest.json: generator_version, parameters, seed, range, sources (files/rows/bytes per source),
  dirt_counts, customers (total, test_accounts, churned, personas), products, categories_l2, campaigns.
"""
from __future__ import annotations

import sys
from pathlib import Path

from tqdm import tqdm

from habitlake.contract import load_contract

from . import dirt as dirt_mod
from .formats import epoch_day
from .simulation import build_world, output_dirs, simulate_day
from .truth import write_truth
from .writers import LandingWriter

__all__ = ["generate"]


def generate(landing_dir: str | Path, truth_dir: str | Path, customers: int = 3000, days: int = 180,
             start: str = "2025-01-01", seed: int = 42, dirt: float = 0.02, progress: bool = True) -> dict:
    """Simulate `days` days from `start` and write landing files and truth.

    Returns {source: {"files": n, "rows": n, "bytes": n}} (rows = data lines written, dirt included).
    """
    if customers < 1 or days < 1:
        raise ValueError(f"customers and days must be positive, got {customers} and {days}")
    dirt_mod.check_rate(dirt)
    landing, truth = output_dirs(landing_dir, truth_dir)
    contract = load_contract()
    writer = LandingWriter(landing, contract, seed, dirt)
    first_day = epoch_day(start)
    world = build_world(seed, customers, days, first_day, dirt, writer)
    # disable=None: tqdm draws the bar only on a terminal (not into a log or the demo's pipe)
    for index in tqdm(range(days), desc="generate", unit="day", file=sys.stderr,
                      disable=None if progress else True):
        simulate_day(world, index)
    parameters = {"customers": customers, "days": days, "start": start, "seed": seed, "dirt": dirt}
    write_truth(truth, world.pop, world.catalog, world.calendar, world.promos, writer, parameters, first_day)
    return {name: dict(figures) for name, figures in writer.summary.items()}
