"""Probe: Coconut's first latent stage from a CoT checkpoint, with and without `thoughts.rescale`.

    python rescale_stage1.py RUN_CONFIG COT_CHECKPOINT OUT_DIR [true|false]
    # e.g. runs/h9/coconut_s0/config.yaml runs/h9/cot_s0/checkpoints/step-00012000 /tmp/probe_rescale true

Trains stage 1 only, on the first 24,000 questions of the run's training file (1,500 steps at
batch 16), and validates after it (metrics.jsonl in OUT_DIR).
"""

import json
import sys
from pathlib import Path

import torch
import yaml

from coconut_lm.run.config import config_from_dict
from coconut_lm.train.trainer import train

torch.set_num_threads(1)
config, init, out, rescale = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4] == "true"
tree = yaml.safe_load(open(config))
out.mkdir(parents=True, exist_ok=True)
subset = out / "train24k.json"
subset.write_text(json.dumps(json.load(open(tree["data"]["train_path"]))[:24000]))
tree["run_dir"] = str(out / "run")
tree["model"]["init_from"] = init
tree["data"]["train_path"] = str(subset)
tree["thoughts"] = {**tree.get("thoughts", {}), "rescale": rescale}
tree["training"].update(num_epochs=2, start_epoch=1)
tree["evaluation"]["every_epochs"] = 1
train(config_from_dict(tree), device="cpu")
