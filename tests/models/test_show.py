"""``codemix families --show``: a sample conversation with exactly the learned text marked."""

from typer.testing import CliRunner

from codemix.cli import app
from codemix.models.formats import LEARNED_CLOSE, LEARNED_OPEN, format_sample


def test_vicuna_sample_marks_each_answer_with_its_eos_and_shows_the_bos_the_tokenizer_adds():
    sample = format_sample("llama2")
    marked = sample.marked_text()
    assert sample.template == "vicuna" and marked.startswith("<s>A chat between")
    assert marked.count(LEARNED_OPEN) == 2
    assert f"ASSISTANT:{LEARNED_OPEN} 12 + 7 = 19. The answer is 19.</s>{LEARNED_CLOSE}USER:" in marked


def test_chatml_sample_learns_im_end_but_not_the_newline_after_it():
    marked = format_sample("qwen").marked_text()
    assert marked.startswith("<|im_start|>system\nYou are a helpful assistant<|im_end|>")  # Qwen1.5's default
    answer = f"{LEARNED_OPEN}12 + 7 = 19. The answer is 19.<|im_end|>{LEARNED_CLOSE}"
    assert f"<|im_start|>assistant\n{answer}\n<|im_start|>user" in marked


def test_cli_show_prints_the_marked_sample_and_rejects_unknown_families():
    runner = CliRunner()
    shown = runner.invoke(app, ["families", "--show", "mistral"])
    assert shown.exit_code == 0, shown.output
    words = " ".join(shown.output.split())  # rich wraps lines at the terminal width
    assert "template: vicuna" in words and f"ASSISTANT:{LEARNED_OPEN} 12 + 7 = 19." in words
    unknown = runner.invoke(app, ["families", "--show", "gpt2"])
    assert unknown.exit_code == 2 and "unknown model family" in unknown.output


def test_generation_stops_at_the_templates_end_of_turn_as_well_as_eos():
    from codemix.models.encoding import stop_token_ids
    from codemix.models.loading import load_tokenizer, resolve_model_source
    from codemix.spec import ModelConfig

    qwen = load_tokenizer(resolve_model_source("qwen", ModelConfig()))  # EOS <|endoftext|>, answers end <|im_end|>
    assert stop_token_ids(qwen) == [qwen.eos_token_id, qwen.convert_tokens_to_ids("<|im_end|>")]
    llama = load_tokenizer(resolve_model_source("llama2", ModelConfig()))  # Vicuna: answers end with EOS
    assert stop_token_ids(llama) == [llama.eos_token_id]
