"""Take a screenshot of the search page (`umer1 serve --search-index ...`) in headless Chromium.

    python scripts/search_page_screenshot.py                       # a tiny random model
    umer1 demo && python scripts/search_page_screenshot.py --demo runs/demo   # docs' picture
    python scripts/search_page_screenshot.py --model runs/demo/rl/final \\
        --corpus corpus.jsonl --query "..." [--image q.png] --out docs/images/search_page.png

Without --model it builds the tiny random model and the small corpus of the browser test
(tests/serve/search_util.py), so its reasoning is noise; with a trained model and its corpus the
page shows what that model writes. `--demo RUN` takes the demo's RL model, a corpus of every
answer of its held-out tasks, and the first held-out colour-matching query (image and question).
The indexes (disc and gen) are built in a temporary folder, the server runs on a free loopback
port, and the page is driven like a user would.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.serve.cdp import Browser, find_chromium  # noqa: E402
from tests.serve.search_util import PAGE_SETTLED, build_indexes, write_corpus  # noqa: E402


def demo_setup(run: Path, work: Path, args) -> tuple[Path, Path]:
    """The demo's RL model, its held-out answers as a corpus, and a held-out query in `args`."""
    answers = []
    for task in sorted((run / "data/eval").glob("*/test.jsonl")):
        for line in task.read_text(encoding="utf-8").splitlines():
            answers += [t for t in json.loads(line)["tgt_text"] if t not in answers]
    corpus = work / "answers" / "corpus.jsonl"
    corpus.parent.mkdir(parents=True)
    corpus.write_text("".join(json.dumps({"id": t.replace(" ", "-"), "text": t}) + "\n"
                              for t in answers), encoding="utf-8")
    first = json.loads((run / "data/eval/shapes_match/test.jsonl").read_text().splitlines()[0])
    args.query = f"{first['qry_inst']} {first['qry_text']}"       # the eval's join of the two
    args.image = str(run / "data/eval" / first["qry_img_path"])
    return run / "rl/final", corpus


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--demo", default=None, metavar="RUN", help="a `umer1 demo` output folder")
    p.add_argument("--model", default=None, help="model directory (default: a tiny random one)")
    p.add_argument("--corpus", default=None, help="corpus.jsonl (image paths relative to it)")
    p.add_argument("--query", default="a dog running on a beach")
    p.add_argument("--image", default=None, help="a query image, chosen with the page's picker")
    p.add_argument("--top-k", type=int, default=5)
    p.add_argument("--max-new-tokens", type=int, default=48)
    p.add_argument("--out", default=str(ROOT / "docs/images/search_page.png"))
    p.add_argument("--width", type=int, default=1280)
    args = p.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        sys.exit("no Chromium: apt-get install chromium")

    from umer1 import UMEModel
    from umer1.integrations.search_page import IndexSearch
    from umer1.serve import BackgroundServer, ServeConfig, ServeLimits, create_app

    work = Path(tempfile.mkdtemp(prefix="umer1-shot-"))
    try:
        if args.demo is not None:
            model_dir, corpus = demo_setup(Path(args.demo), work, args)
        elif args.model is None:
            from umer1.engine.tiny import make_tiny_model
            model_dir = make_tiny_model(work / "model", seed=0)
            corpus = write_corpus(work / "corpus")
        else:
            if args.corpus is None:
                sys.exit("--model needs --corpus")
            model_dir, corpus = Path(args.model), Path(args.corpus)
        model = UMEModel.from_pretrained(model_dir)
        dirs = build_indexes(model, work, corpus=corpus, max_new_tokens=args.max_new_tokens)
        limits = ServeLimits(max_new_tokens=args.max_new_tokens)
        config = ServeConfig(model_name=str(model_dir), limits=limits,
                             search_media=str(corpus.parent))
        backend = IndexSearch.open(dirs, max_new_tokens=args.max_new_tokens).bind(model)
        server = BackgroundServer(create_app(model, config, search=backend)).start()
        try:
            with Browser(chromium, width=args.width) as b:
                b.goto(server.url + "/search")
                b.wait_for("document.body.dataset.state === 'idle'")
                if args.image:
                    b.set_files("#query-image", [Path(args.image).resolve()])
                b.eval(f"document.getElementById('query-text').value = {json.dumps(args.query)};"
                       f"document.getElementById('top-k').value = {args.top_k};"
                       "document.getElementById('search-button').click()")
                state = b.wait_for(PAGE_SETTLED, timeout=300)
                if state != "done":
                    sys.exit("the search failed: " + b.eval("document.getElementById('error')"
                                                            ".textContent"))
                # Open the first gen hit's reasoning so the picture shows it.
                b.eval("const d = document.querySelector('#col-gen .hit-reasoning');"
                       "if (d) d.open = true;")
                height = b.eval("Math.ceil(document.documentElement.scrollHeight)")
                Path(args.out).parent.mkdir(parents=True, exist_ok=True)
                b.screenshot(args.out, width=args.width, height=int(height))
        finally:
            server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
