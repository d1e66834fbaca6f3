"""The truth folder: what the generator planted, for tests of later issues (jobs never read it).
Columns are documented in the package docstring."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

from . import formats
from .almanac import Calendar
from .catalog import BUNDLES, CATEGORIES, L2_NAMES, Catalog, group_sampler
from .customers import Population
from .lifecycle import CHURN_CAUSES
from .promotions import Promotion, campaigns_truth
from .world import CITIES, PERSONA_NAMES
from .writers import LandingWriter

GENERATOR_VERSION = 1


def customers_truth(pop: Population, first_day: int) -> pl.DataFrame:
    """One row per customer: hidden persona, sensitivity, test flag, churn and its causes."""
    churned = pop.churned
    return pl.DataFrame({
        "customer_id": pop.customer_id,
        "persona": [PERSONA_NAMES[p] for p in pop.persona],
        "price_sensitivity": pop.sensitivity,
        "is_test": pop.is_test,
        "churned": churned,
        "churn_date": pl.select(pl.when(pl.lit(pl.Series(churned))).then(
            pl.lit(formats.dates(first_day + np.maximum(pop.churn_day, 0))))).to_series(),
        "churn_cause": [CHURN_CAUSES[c] if c >= 0 else None for c in pop.churn_cause],
        "late_deliveries": pop.late,
        "complaints": pop.complaints,
        "lapses": pop.lapses,
        "signup_date": formats.dates(pop.signup_secs // formats.SECONDS_PER_DAY),
        "home_city": [CITIES[c].name_zh for c in pop.city],
    })


def bundles_truth(catalog: Catalog) -> pl.DataFrame:
    """One row per planted bundle with its product sets (';'-separated ids) and most popular pair."""
    rows = []
    for bundle in BUNDLES:
        sides = []
        for selector in (bundle.antecedent, bundle.consequent):
            members, _ = group_sampler(catalog, catalog.members(selector))
            top = members[np.argmax(catalog.popularity[members])]
            ids = catalog.product_id.gather(members).to_list()
            sides.append((f"{selector[0]}:{selector[1]}", ";".join(ids), catalog.product_id[int(top)]))
        rows.append({"bundle_id": bundle.bundle_id, "antecedent": sides[0][0], "consequent": sides[1][0],
                     "attach_prob": bundle.attach_prob, "antecedent_products": sides[0][1],
                     "consequent_products": sides[1][1], "antecedent_top_product": sides[0][2],
                     "consequent_top_product": sides[1][2]})
    return pl.DataFrame(rows)


def products_truth(catalog: Catalog) -> pl.DataFrame:
    """Hidden product traits: popularity weight and quality issues."""
    return pl.DataFrame({"product_id": catalog.product_id,
                         "category_l2": [L2_NAMES[k] for k in catalog.l2],
                         "popularity": np.round(catalog.popularity, 6),
                         "quality_issue": catalog.quality_issue})


def cities_truth() -> pl.DataFrame:
    """The city reference of the simulated world."""
    return pl.DataFrame([{"city": c.name_zh, "city_en": c.name_en, "province": c.province, "region": c.region,
                          "city_tier": c.tier, "climate_zone": c.climate_zone, "warehouse_id": c.warehouse_id}
                         for c in CITIES])


def write_truth(truth_dir: Path, pop: Population, catalog: Catalog, calendar: Calendar, promos: list[Promotion],
                writer: LandingWriter, parameters: dict, first_day: int) -> None:
    """Write every truth file."""
    truth_dir.mkdir(parents=True, exist_ok=True)
    customers = customers_truth(pop, first_day)
    dirt = writer.dirt_frame()
    tables = {
        "customers.csv": customers,
        "bundles.csv": bundles_truth(catalog),
        "campaigns.csv": campaigns_truth(promos, first_day),
        "holidays_spikes.csv": calendar.spikes,
        "dirt.csv": dirt,
        "files.csv": writer.files_frame(),
        "products.csv": products_truth(catalog),
        "cities.csv": cities_truth(),
    }
    for name, table in tables.items():
        table.write_csv(truth_dir / name, null_value="")
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "parameters": parameters,
        "seed": parameters["seed"],
        "range": {"first_day": formats.date_str(first_day),
                  "last_day": formats.date_str(first_day + parameters["days"] - 1)},
        "sources": writer.summary,
        "dirt_counts": {k: int(v) for k, v in sorted(dirt["kind"].value_counts().rows())},
        "customers": {"total": pop.size, "test_accounts": int(pop.is_test.sum()),
                      "churned": int(pop.churned.sum()),
                      "personas": {PERSONA_NAMES[p]: int((pop.persona == p).sum()) for p in range(len(PERSONA_NAMES))}},
        "products": catalog.size,
        "categories_l2": len(CATEGORIES),
        "campaigns": len(promos),
    }
    (truth_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                                             encoding="utf-8")
