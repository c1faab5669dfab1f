from fake_openai import fake_openai  # noqa: F401 - a fixture, re-exported for these tests
