"""`umer1 push MODEL_DIR --repo-id OWNER/NAME`: upload a saved model folder to a model hub."""
from __future__ import annotations

NAME = "push"
HELP = "upload a model folder (with its card) to a model hub"


def add_arguments(p):
    p.add_argument("model_dir", help="a training run's final/ or a checkpoint's model/ folder")
    p.add_argument("--repo-id", required=True, help="OWNER/NAME on the hub (created if missing)")
    p.add_argument("--private", action="store_true", help="create the repository as private")
    p.add_argument("--revision", default=None, help="a branch to push to (created if missing)")
    p.add_argument("--token-env", default=None, metavar="VAR",
                   help="read the token from this environment variable (default: HF_TOKEN or "
                        "a saved login)")
    p.add_argument("--message", default=None, help="the commit message")


def run(args) -> int:
    from umer1.integrations.hub import push_model, token_from_env
    url = push_model(args.model_dir, args.repo_id, private=args.private, revision=args.revision,
                     token=token_from_env(args.token_env), commit_message=args.message)
    print(f"pushed {args.model_dir} to {args.repo_id}: {url}")
    return 0
