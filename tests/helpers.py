"""Small helpers shared by test modules (import as `from helpers import ...`)."""


def demo_conversations(n: int, seed: int = 0) -> list[list[dict]]:
    """Chat-template messages from the generated demo corpus."""
    from codemix.data.demo import generate_demo_corpus

    role = {"human": "user", "gpt": "assistant"}
    return [[{"role": role[t["from"]], "content": t["value"]} for t in r["conversations"]]
            for r in generate_demo_corpus(n, seed)]
