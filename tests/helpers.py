"""Small helpers shared by test modules (import as `from helpers import ...`)."""

import contextlib


def demo_conversations(n: int, seed: int = 0) -> list[list[dict]]:
    """Chat-template messages from the generated demo corpus."""
    from codemix.data.demo import generate_demo_corpus

    role = {"human": "user", "gpt": "assistant"}
    return [[{"role": role[t["from"]], "content": t["value"]} for t in r["conversations"]]
            for r in generate_demo_corpus(n, seed)]


def store_with_mix(root, n: int, seed: int = 3):
    """A Store at ``root`` holding one mix of ``n`` demo conversations at ``_cache/mixes/m1``."""
    import tempfile
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.parquet as pq

    from codemix.storage import Store

    store = Store(root)
    with tempfile.TemporaryDirectory() as d:
        pq.write_table(pa.table({"turns": demo_conversations(n, seed=seed)}), Path(d) / "mix.parquet")
        store.put_dir(d, "_cache/mixes/m1")
    return store


@contextlib.contextmanager
def moto_bucket(bucket: str = "codemix-test"):
    """A local S3-compatible server (moto) on the loopback with one bucket, and the AWS_* variables
    that reach it; yields (URI prefix with the endpoint options, pyarrow S3FileSystem)."""
    import pyarrow.fs as pafs
    import pytest
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                           "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}.items():
            mp.setenv(key, value)
        query = f"?endpoint_override={host}:{port}&scheme=http&region=us-east-1"
        fs = pafs.S3FileSystem(endpoint_override=f"{host}:{port}", scheme="http", region="us-east-1",
                               allow_bucket_creation=True)
        fs.create_dir(bucket)
        try:
            yield f"s3://{bucket}/sweeps{query}", fs
        finally:
            server.stop()
