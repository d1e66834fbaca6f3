"""CLI command groups beyond the pipeline's own, one module each (models, airflow, bi, cockpit, driver).

Each module defines `register(sub)`, adding its subcommands to the `habitlake` parser; heavy
imports happen inside the command functions, so `habitlake --help` stays instant.
"""
GROUPS = ("models", "airflow", "bi", "cockpit", "driver")
