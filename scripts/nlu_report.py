"""Summarise `rasa test nlu --cross-validation` (part of `make bench`): per-intent F1 and the
most common confusions, from the intent report Rasa writes into the given folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(folder: str) -> None:
    report = json.loads((Path(folder) / "intent_report.json").read_text(encoding="utf-8"))
    intents = {name: row for name, row in report.items()
               if isinstance(row, dict) and "f1-score" in row and "support" in row
               and name not in ("micro avg", "macro avg", "weighted avg")}
    print("| intent | examples | precision | recall | F1 | most often confused with |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for name, row in sorted(intents.items(), key=lambda kv: kv[1]["f1-score"]):
        confused = sorted((row.get("confused_with") or {}).items(), key=lambda kv: -kv[1])[:2]
        also = ", ".join(f"{other} ({n})" for other, n in confused) or "-"
        print(f"| {name} | {row['support']} | {row['precision']:.2f} | {row['recall']:.2f} "
              f"| {row['f1-score']:.2f} | {also} |")
    for avg in ("weighted avg", "macro avg"):
        if avg in report:
            print(f"\n{avg}: F1 {report[avg]['f1-score']:.3f}", end="")
    if "accuracy" in report:
        print(f", accuracy {report['accuracy']:.3f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "var/bench/nlu")
