"""docs/spec.md is the sweep spec reference generated from codemix/spec/, and it is up to date."""

from pathlib import Path

from pydantic import BaseModel
from typer.testing import CliRunner

from codemix.cli import app
from codemix.spec import REGENERATE, EvalConfig, SweepSpec, render_reference

PAGE = Path(__file__).resolve().parents[1] / "docs" / "spec.md"


def test_the_committed_reference_page_is_up_to_date():
    assert PAGE.read_text() == render_reference(), f"docs/spec.md is stale: run `{REGENERATE}` and commit it"


def test_the_page_has_every_section_and_field_with_choices_defaults_and_deprecated_keys():
    text = render_reference()
    for section, info in SweepSpec.model_fields.items():
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            assert f"## `{section}`" in text
            assert all(f"| `{name}` |" in text for name in info.annotation.model_fields)
    for endpoint in ("data.classifier.endpoint", "eval.openai_endpoint", "eval.extractor_endpoint"):
        assert f"## `{endpoint}`" in text
    assert '`"full"` \\| `"lora"` \\| `"none"`' in text  # Literal choices (escaped for the table)
    assert "| `checkpoints_kept` | int | `2` | >= 1 | no |" in text
    assert "| `timeout` | float | `60.0` | > 0 | no |" in text  # the classifier's own default, not 120
    assert "`max_retries` → `openai_endpoint.retries` and `extractor_endpoint.retries`" in text
    assert all(f"`{old}` →" in text for old in EvalConfig.deprecated_keys)


def test_codemix_spec_reference_writes_the_page(tmp_path):
    out = tmp_path / "spec.md"
    result = CliRunner().invoke(app, ["spec", "reference", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text() == render_reference() and "wrote" in result.output
