from pyspark.sql import functions as F

from habitlake.pii import keyed_hash, keyed_hash_py, mask_address, mask_name, mask_phone, pii_key

KEY = b"test-key-not-a-secret"


def test_keyed_hash_in_spark_equals_python_hmac(spark):
    df = spark.createDataFrame([("13812345678",), ("张伟",), (None,)], "v string")
    got = [r.h for r in df.select(keyed_hash(F.col("v"), KEY).alias("h")).collect()]
    assert got == [keyed_hash_py("13812345678", KEY), keyed_hash_py("张伟", KEY), None]
    assert got[0] != keyed_hash_py("13812345678", b"another key")


def test_long_keys_are_hashed_first_as_hmac_requires(spark):
    long_key = b"k" * 100
    df = spark.createDataFrame([("x",)], "v string")
    assert df.select(keyed_hash(F.col("v"), long_key)).first()[0] == keyed_hash_py("x", long_key)


def test_masks(spark):
    df = spark.createDataFrame(
        [("13812345678", "张伟", "四川省成都市武侯区天府大道100号"), ("+86 139-0000-1111", "欧阳娜娜", "短地址"),
         ("12", "S", None)],
        "phone string, name string, address string")
    got = [tuple(r) for r in df.select(mask_phone(F.col("phone")), mask_name(F.col("name")),
                                       mask_address(F.col("address"))).collect()]
    assert got == [("138****5678", "张*", "四川省成都市***"), ("861****1111", "欧***", "短地址"), ("****", "S*", None)]


def test_key_comes_from_environment_or_a_local_secret_file(settings, tmp_path):
    assert pii_key(settings, {"HABITLAKE_PII_KEY": "abc"}) == b"abc"
    local = settings.with_overrides(state_dir=tmp_path)
    first = pii_key(local, {})
    assert len(first) == 64 and pii_key(local, {}) == first
    assert (tmp_path / "secrets" / "pii.key").stat().st_mode & 0o777 == 0o600
