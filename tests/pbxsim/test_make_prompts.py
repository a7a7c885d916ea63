"""scripts/make-prompts: playable 8 kHz prompt files from the catalogue, made once, and the
list of prompts in docs/ kept equal to the catalogue."""
from __future__ import annotations

import subprocess
import wave
from pathlib import Path

from cti.pbxsim.engine.sounds import build_sounds, read_catalogue
from cti.pbxsim.prompts import DEFAULT_CATALOGUES, read_catalogues, render_list

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "make-prompts"
TWO_PROMPTS = """prompts:
  welcome:
    zh: 您好，欢迎致电客户服务热线。
    en: Welcome to the customer service hotline.
  goodbye:
    zh: 感谢您的来电，再见。
    en: Thank you for calling. Goodbye.
"""


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_make_prompts_writes_8khz_mono_wav_per_language_once(tmp_path):
    catalogue = tmp_path / "prompts.yaml"
    catalogue.write_text(TWO_PROMPTS, encoding="utf-8")
    out, doc = tmp_path / "sounds", tmp_path / "prompts.md"
    first = run("--catalogue", str(catalogue), "--out", str(out), "--doc", str(doc))
    assert first.returncode == 0, first.stderr
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.wav"))
    assert files == ["en/goodbye.wav", "en/welcome.wav", "zh/goodbye.wav", "zh/welcome.wav"]
    for path in out.rglob("*.wav"):
        with wave.open(str(path), "rb") as wav:
            assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
            assert wav.getnframes() > 8000 * 0.8          # real speech, not an empty file
    assert doc.read_text(encoding="utf-8") == render_list(read_catalogue(catalogue))
    # the simulator sees exactly these files, with their real lengths
    table = build_sounds(directory=out)
    with wave.open(str(out / "zh" / "welcome.wav"), "rb") as wav:
        assert table["zh/welcome"] == wav.getnframes()
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.wav")}
    second = run("--catalogue", str(catalogue), "--out", str(out), "--doc", str(doc))
    assert second.returncode == 0 and "0 made, 4 up to date" in second.stdout
    assert stamps == {p: p.stat().st_mtime_ns for p in out.rglob("*.wav")}


def test_make_prompts_bad_catalogue_is_one_clear_line(tmp_path):
    catalogue = tmp_path / "prompts.yaml"
    catalogue.write_text("prompts: [welcome]\n", encoding="utf-8")
    result = run("--catalogue", str(catalogue), "--out", str(tmp_path / "s"), "--doc", str(tmp_path / "d.md"))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "prompts" in result.stderr


def test_the_prompt_list_in_docs_is_the_catalogue():
    """docs/prompts.md is generated: after a change of the catalogue run
    `scripts/make-prompts --doc-only`."""
    expected = render_list(read_catalogues(DEFAULT_CATALOGUES))
    assert (ROOT / "docs" / "prompts.md").read_text(encoding="utf-8") == expected
