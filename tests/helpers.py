"""Small helpers shared by test modules (import as `from helpers import ...`)."""


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
