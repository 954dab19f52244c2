"""Terminal escape sequences in feed text never reach the terminal through the CLI (issue 11, item 15)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.hostile.corpus import FILLER
from tidings.cli.common import terminal_safe
from tidings.cli.main import app

pytestmark = pytest.mark.hostile

runner = CliRunner()
PAYLOADS = {
    "clear-screen": "\x1b[2J\x1b[H",
    "colour": "\x1b[31;1m",
    "window-title": "\x1b]0;owned\x07",
    "hyperlink": "\x1b]8;;https://evil.example/\x1b\\",
    "c1-csi": "\x9b2J",
    "dcs": "\x1bPq#0;2;0;0;0\x1b\\",
    "reset": "\x1bc",
    "charset-switch": "\x1b(0",
    "bell-backspace": "\x07\x08\x08\x08",
    "carriage-return-overwrite": "\rSAFE ARTICLE",
    "nul": "\x00",
    "unterminated-osc": "\x1b]52;c;ZXZpbA==",
}
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.fixture
def home(tidings_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh TIDINGS_HOME without enrichment."""
    monkeypatch.setenv("TIDINGS_ENRICH", "0")
    from tidings.config import get_settings

    get_settings.cache_clear()
    return tidings_env


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_terminal_safe_strips_payload(name: str) -> None:
    cleaned = terminal_safe(f"Ferry{PAYLOADS[name]} news\ttoday\nline")
    assert not RAW_CONTROL.search(cleaned) and "\x1b" not in cleaned
    assert cleaned.startswith("Ferry") and "\ttoday\n" in cleaned


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_cli_output_has_no_raw_escapes(home: Path, tmp_path: Path, name: str) -> None:
    payload = PAYLOADS[name]
    record = {
        "url": "https://terminal.example/1",
        "title": f"Ferry{payload} returns",
        "text": f"{FILLER}{payload}\n\nSecond{payload} paragraph.",
        "byline": f"Reporter{payload}",
        "source": f"Gazette{payload}",
        "standfirst": f"Stand{payload}first",
    }
    bad = tmp_path / f"bad{payload[:1]!s}.jsonl".replace("\x00", "")
    data = json.dumps(record) + "\n" + '{"url": "https://terminal.example/2", "title": "x\\u001b[2J"}\n'
    (tmp_path / "in.jsonl").write_text(data)
    outputs = [runner.invoke(app, ["ingest", str(tmp_path / "in.jsonl")])]
    outputs.append(runner.invoke(app, ["ingest", str(bad)]))
    outputs += [runner.invoke(app, ["article", "1"]), runner.invoke(app, ["article", "1", "--json"])]
    outputs.append(runner.invoke(app, ["stories"]))
    assert outputs[2].exit_code == 0, outputs[2].output
    assert outputs[2].stdout.startswith("Ferry")
    for result in outputs:
        text = result.stdout + (result.stderr if result.stderr_bytes is not None else "")
        assert "\x1b" not in text and "\x9b" not in text
        assert not RAW_CONTROL.search(text)
