"""`umer1 push`: what it uploads, and one-line errors where no hub answers."""
import shutil
from pathlib import Path

import pytest
from huggingface_hub import HfApi

from umer1.cli import main
from umer1.engine.tiny import make_tiny_model
from umer1.integrations.hub import IGNORE, push_model
from umer1.utils.errors import InputError


class RecordingHub:
    """Stands in for the remote side only: records the calls huggingface_hub's HfApi would
    send and copies the uploaded files (with HfApi's own ignore-pattern filter)."""

    def __init__(self, root: Path):
        self.root, self.calls = root, []

    def create_repo(self, repo_id, **kw):
        self.calls.append(("create_repo", repo_id, kw))

    def create_branch(self, repo_id, **kw):
        self.calls.append(("create_branch", repo_id, kw))

    def upload_folder(self, *, repo_id, folder_path, ignore_patterns, **kw):
        from huggingface_hub.utils import filter_repo_objects
        self.calls.append(("upload_folder", repo_id, kw))
        src = Path(folder_path)
        files = [str(p.relative_to(src)) for p in src.rglob("*") if p.is_file()]
        for rel in filter_repo_objects(files, ignore_patterns=ignore_patterns):
            (self.root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src / rel, self.root / rel)
        return f"commit:{repo_id}"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("push") / "m", hidden_size=32, num_heads=2,
                           num_kv_heads=1)


def test_push_uploads_the_folder_with_its_card(model_dir, tmp_path):
    (model_dir / ".README.md.abc123.tmp").write_text("half-written")
    hub = RecordingHub(tmp_path / "remote")
    url = push_model(model_dir, "me/tiny", private=True, revision="v1", api=hub)
    assert url == "commit:me/tiny"
    assert [c[0] for c in hub.calls] == ["create_repo", "create_branch", "upload_folder"]
    assert hub.calls[0][2]["private"] is True and hub.calls[2][2]["revision"] == "v1"
    uploaded = {p.name for p in (tmp_path / "remote").iterdir()}
    assert {"README.md", "config.json", "umer1.json", "model.safetensors"} <= uploaded
    assert not any(n.endswith(".tmp") for n in uploaded) and IGNORE


def test_no_card_or_not_a_model_is_refused_before_any_call(model_dir, tmp_path, capsys):
    bare = tmp_path / "bare"
    shutil.copytree(model_dir, bare)
    (bare / "README.md").unlink()
    hub = RecordingHub(tmp_path / "remote")
    with pytest.raises(InputError, match="umer1 card"):
        push_model(bare, "me/x", api=hub)
    assert main(["push", str(tmp_path), "--repo-id", "me/x"]) == 2
    assert "not a model folder" in capsys.readouterr().err and hub.calls == []


def test_an_unreachable_hub_is_a_one_line_error(model_dir):
    # the real client against a loopback port where nothing listens
    api = HfApi(endpoint="http://127.0.0.1:9", token="test-token")
    with pytest.raises(InputError, match="cannot reach the model hub"):
        push_model(model_dir, "me/tiny", api=api)


def test_token_env_must_be_set(model_dir, monkeypatch, capsys):
    monkeypatch.delenv("UMER1_TEST_TOKEN", raising=False)
    assert main(["push", str(model_dir), "--repo-id", "me/x", "--token-env", "UMER1_TEST_TOKEN"]) == 2
    assert "UMER1_TEST_TOKEN is not set" in capsys.readouterr().err
