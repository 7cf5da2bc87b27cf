#!/usr/bin/env bash
# Peer measurement for benches/models.rs: XGBoost 3.2 (hist, depth 6, 200 rounds, eta 0.3,
# 2 threads) on the churn table the bench exported (features, label, split), timed from
# DMatrix to trained booster, with the test AUC. Prints the median of 3 trainings.
# Installs xgboost-cpu from PyPI into a virtual environment under target/ on first use.
# Usage: benches/peers/xgboost_churn.sh CHURN.csv
set -euo pipefail
csv=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
venv="$root/target/peers-venv"
if ! "$venv/bin/python" -c 'import xgboost, pandas, sklearn' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q xgboost-cpu==3.2.0 pandas scikit-learn
fi
"$venv/bin/python" - "$csv" <<'PY'
import statistics, sys, time
import pandas as pd, xgboost as xgb
from sklearn.metrics import roc_auc_score

df = pd.read_csv(sys.argv[1])
feats = [c for c in df.columns if c not in ("label", "split")]
tr, te = df[df.split == "train"], df[df.split == "test"]
params = {"objective": "binary:logistic", "tree_method": "hist", "max_depth": 6, "eta": 0.3,
          "nthread": 2, "max_bin": 256}
times, aucs = [], []
for _ in range(3):
    t = time.perf_counter()
    d = xgb.DMatrix(tr[feats].to_numpy("float32"), label=tr.label.to_numpy(), nthread=2)
    b = xgb.train(params, d, num_boost_round=200)
    times.append(time.perf_counter() - t)
    aucs.append(roc_auc_score(te.label, b.predict(xgb.DMatrix(te[feats].to_numpy("float32"), nthread=2))))
print(f"xgboost {xgb.__version__}: {len(tr)} rows x {len(feats)} features, 200 rounds depth 6 on 2 threads: "
      f"median {statistics.median(times):.2f} s (runs {', '.join(f'{x:.2f}' for x in times)}), test AUC {aucs[0]:.4f}")
PY
