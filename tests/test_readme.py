"""The README's set-up commands are the ones CI runs."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bash_blocks(text):
    return re.findall(r"```bash\n(.*?)\n```", text, flags=re.S)


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    blocks = _bash_blocks(readme.split("## Set up", 1)[1])
    assert len(blocks) >= 2, "the README opens with a main command and a test command"
    test_cmd = blocks[1].strip()
    ci_lines = [l for l in (ROOT / ".ci" / "run").read_text().splitlines()
                if l and not l.startswith("#") and not l.startswith(("set ", "cd "))]
    # Before it, CI may only fetch optional system tools (`command -v X || install X`).
    assert ci_lines[-1] == test_cmd
    assert all(l.startswith("command -v ") for l in ci_lines[:-1]), ci_lines[:-1]


def test_readme_example_inputs_exist():
    readme = (ROOT / "README.md").read_text()
    paths = re.findall(r"(examples/\S+?\.jsonl)", readme)
    assert paths, "the README points at the shipped example inputs"
    for path in paths:
        assert (ROOT / path).is_file(), path
