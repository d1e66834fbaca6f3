"""File-system access through Hadoop's FileSystem API, so the same code lists and reads a local
folder, HDFS or object storage (s3a://, abfss://, gs://) from the driver."""
from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import SparkSession


@dataclass(frozen=True)
class FileInfo:
    path: str  # full URI as Hadoop reports it
    size: int
    mtime: int  # milliseconds since the epoch


def _fs(spark: SparkSession, uri: str):
    jvm = spark._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(uri)
    return hpath.getFileSystem(spark._jsc.hadoopConfiguration()), hpath


def list_files(spark: SparkSession, folder: str) -> list[FileInfo]:
    """Files directly inside `folder`, sorted by path; [] if the folder does not exist."""
    fs, hpath = _fs(spark, folder)
    if not fs.exists(hpath):
        return []
    found = [
        FileInfo(st.getPath().toString(), st.getLen(), st.getModificationTime())
        for st in fs.listStatus(hpath)
        if st.isFile()
    ]
    return sorted(found, key=lambda f: f.path)


def list_dirs(spark: SparkSession, folder: str) -> list[str]:
    fs, hpath = _fs(spark, folder)
    if not fs.exists(hpath):
        return []
    return sorted(st.getPath().getName() for st in fs.listStatus(hpath) if st.isDirectory())


def head(spark: SparkSession, uri: str, n_bytes: int) -> bytes:
    """The first `n_bytes` bytes of a file (fewer if it is shorter)."""
    fs, hpath = _fs(spark, uri)
    stream = fs.open(hpath)
    try:
        return bytes(stream.readNBytes(n_bytes))
    finally:
        stream.close()


def copy(spark: SparkSession, src: str, dst: str) -> None:
    jvm = spark._jvm
    src_fs, src_path = _fs(spark, src)
    dst_fs, dst_path = _fs(spark, dst)
    jvm.org.apache.hadoop.fs.FileUtil.copy(
        src_fs, src_path, dst_fs, dst_path, False, True, spark._jsc.hadoopConfiguration()
    )
