"""PII protection: names, phones and addresses never leave bronze in clear.

Silver carries, for each PII field, a keyed hash (HMAC-SHA256, for joining and counting without
revealing the value) and a masked form for display (138****5678, 张*, 成都市武侯区***). The key comes
from HABITLAKE_PII_KEY; without it a random key is created once in the local state folder
(`<state>/secrets/pii.key`, never in the repository). Losing the key makes new hashes differ from
old ones, so production deployments set HABITLAKE_PII_KEY from their secret store.

Zones: landing and bronze hold PII in clear (restricted: data engineers only); silver and gold hold
only hashes and masks; the BI endpoint exposes gold only.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from pyspark.sql import Column
from pyspark.sql import functions as F

from habitlake.settings import Settings

KEY_ENV = "HABITLAKE_PII_KEY"
BLOCK = 64  # SHA-256 block size in bytes (HMAC, RFC 2104)
PHONE_KEEP_HEAD, PHONE_KEEP_TAIL = 3, 4
ADDRESS_KEEP = 6


def pii_key(settings: Settings, env: dict | None = None) -> bytes:
    env = os.environ if env is None else env
    if env.get(KEY_ENV):
        return env[KEY_ENV].encode("utf-8")
    path = Path(settings.state_dir) / "secrets" / "pii.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip().encode("utf-8")


def _pads(key: bytes) -> tuple[str, str]:
    if len(key) > BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(BLOCK, b"\x00")
    inner = bytes(b ^ 0x36 for b in key).hex()
    outer = bytes(b ^ 0x5C for b in key).hex()
    return inner, outer


def keyed_hash(col: Column, key: bytes) -> Column:
    """HMAC-SHA256 of a string column (hex), with Spark built-ins only; null stays null."""
    inner, outer = _pads(key)
    value = F.encode(col, "UTF-8")
    inner_digest = F.unhex(F.sha2(F.concat(F.unhex(F.lit(inner)), value), 256))
    return F.when(col.isNull(), F.lit(None)).otherwise(
        F.sha2(F.concat(F.unhex(F.lit(outer)), inner_digest), 256)
    )


def keyed_hash_py(value: str, key: bytes) -> str:
    """The same HMAC in Python, for checks and lookups outside Spark."""
    import hmac

    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def mask_phone(col: Column) -> Column:
    """13812345678 -> 138****5678; anything shorter than 8 digits -> ****."""
    digits = F.regexp_replace(col, r"[^0-9]", "")
    return (
        F.when(col.isNull(), F.lit(None))
        .when(F.length(digits) < PHONE_KEEP_HEAD + PHONE_KEEP_TAIL + 1, F.lit("****"))
        .otherwise(F.concat(F.substring(digits, 1, PHONE_KEEP_HEAD), F.lit("****"),
                            F.substring(digits, -PHONE_KEEP_TAIL, PHONE_KEEP_TAIL)))
    )


def mask_name(col: Column) -> Column:
    """张伟 -> 张*, 欧阳娜娜 -> 欧***, Smith -> S****: first character kept."""
    return F.when(col.isNull() | (F.length(col) == 0), col).otherwise(
        F.concat(F.substring(col, 1, 1), F.repeat(F.lit("*"), F.greatest(F.length(col) - 1, F.lit(1))))
    )


def mask_address(col: Column) -> Column:
    """Keep the first characters (province / city / district), mask the street and number."""
    return F.when(col.isNull() | (F.length(col) <= ADDRESS_KEEP), col).otherwise(
        F.concat(F.substring(col, 1, ADDRESS_KEEP), F.lit("***"))
    )
