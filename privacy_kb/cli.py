"""`privacy-kb` command line: import-seed, search, bench."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from privacy_kb.bench import load_policyqa, run_baseline, run_ranker
from privacy_kb.kb import AUDIENCE_SCOPES, KnowledgeBase
from privacy_kb.seed import convert

DEFAULT_DIR = Path("data/knowledge")


def _import_seed(args: argparse.Namespace) -> int:
    document = convert(Path(args.seed).read_text(encoding="utf-8"))
    Path(args.out).write_text(document, encoding="utf-8")
    print(f"wrote {args.out} ({len(document.splitlines())} lines)")
    return 0


def _search(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    kb = KnowledgeBase.from_directory(args.dir, audiences=AUDIENCE_SCOPES[args.audience])
    built = time.perf_counter() - started
    hits = kb.search(args.question, top_k=args.top, audience=args.audience)
    answer = kb.answer(args.question, audience=args.audience)
    if args.json:
        print(json.dumps({
            "hits": [asdict(h) for h in hits],
            "answer": asdict(answer) if answer else None,
        }, ensure_ascii=False))
        return 0
    print(f"index built in {built * 1000:.0f} ms")
    for n, h in enumerate(hits, 1):
        print(f"{n}. [{h.score:.2f}] {h.heading} (#{h.anchor})")
        print("   " + h.text.replace("\n", "\n   ")[:300])
    if answer:
        print(f"\nanswer from {answer.heading} (#{answer.anchor}):\n{answer.quote}")
    else:
        print("\nno supported answer (the assistant abstains)")
    return 0


def _bench(args: argparse.Namespace) -> int:
    policies = load_policyqa(Path(args.path))
    if args.semantic is not None:
        from privacy_kb.bench import run_hybrid, split_halves

        tune, held_out = split_halves(policies)
        for name, part in (("tune", tune), ("held-out", held_out), ("all", policies)):
            print(name, run_hybrid(part, args.semantic).as_json())
        return 0
    result = run_baseline(policies) if args.baseline else run_ranker(policies)
    print(result.as_json())
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from privacy_kb.calibrate import calibrate

    report = calibrate([Path(p) for p in args.sets], folds=args.folds,
                       knowledge=Path(args.dir))
    print(json.dumps(report, indent=1))
    return 0


def _answers(args: argparse.Namespace) -> int:
    from privacy_kb.evaluate import evaluate, load_items

    kb = KnowledgeBase.from_directory(args.dir, audiences=AUDIENCE_SCOPES["public"])
    for path in args.sets:
        report = evaluate(kb, load_items(Path(path)))
        print(f"{path}: {report.summary()}")
        if args.misses:
            for miss in report.misses:
                print("   ", json.dumps(miss, ensure_ascii=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="privacy-kb", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("import-seed", help="convert the scraped statement page to a document")
    p.add_argument("seed", help="scraped page (Markdown)")
    p.add_argument("out", help="knowledge document to write")
    p.set_defaults(func=_import_seed)

    p = sub.add_parser("search", help="rank passages for a question and show the answer")
    p.add_argument("question")
    p.add_argument("--top", type=int, default=5)
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--dir", default=str(DEFAULT_DIR), help="knowledge directory")
    p.add_argument("--audience", default="public", choices=["public", "internal"])
    p.set_defaults(func=_search)

    p = sub.add_parser("calibrate", help="fit the answer engine on development sets")
    p.add_argument("sets", nargs="+", help="labelled sets (answerable / unanswerable)")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds to report")
    p.add_argument("--dir", default=str(DEFAULT_DIR), help="knowledge directory")
    p.set_defaults(func=_calibrate)

    p = sub.add_parser("answers", help="answer quality on labelled sets")
    p.add_argument("sets", nargs="+")
    p.add_argument("--misses", action="store_true", help="list the wrong and missing quotes")
    p.add_argument("--dir", default=str(DEFAULT_DIR), help="knowledge directory")
    p.set_defaults(func=_answers)

    p = sub.add_parser("bench", help="retrieval benchmarks")
    bench = p.add_subparsers(dest="benchmark", required=True)
    b = bench.add_parser("policyqa", help="PolicyQA segment retrieval (SQuAD format)")
    b.add_argument("path")
    b.add_argument("--baseline", action="store_true", help="plain bm25s instead of the product")
    b.add_argument("--semantic", type=float, default=None, metavar="WEIGHT",
                   help="the product ranker plus WEIGHT x MiniLM cosine (by halves and all)")
    b.set_defaults(func=_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
