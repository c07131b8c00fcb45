"""Plot a soak CSV (bench/soak.sh) as p50/p99 per kind and RSS over time.
   python3 bench/plot_soak.py [bench/soak-latest.csv] [bench/soak-latest.png]   (needs matplotlib)"""
import csv
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

src = sys.argv[1] if len(sys.argv) > 1 else "bench/soak-latest.csv"
out = sys.argv[2] if len(sys.argv) > 2 else src.rsplit(".", 1)[0] + ".png"
series = defaultdict(lambda: {"t": [], "p50": [], "p99": [], "n": []})
rss = {}
for row in csv.DictReader(open(src)):
    t = int(row["t_s"])
    s = series[row["kind"]]
    s["t"].append(t)
    s["p50"].append(float(row["p50_ms"]))
    s["p99"].append(float(row["p99_ms"]))
    s["n"].append(int(row["requests"]))
    rss[t] = float(row["rss_mb"])

fig, (lat, mem) = plt.subplots(2, 1, figsize=(9, 7), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
for i, (kind, s) in enumerate(sorted(series.items())):
    colour = f"C{i}"
    lat.plot(s["t"], s["p50"], color=colour, label=f"{kind} p50")
    lat.plot(s["t"], s["p99"], color=colour, linestyle="--", label=f"{kind} p99")
lat.set_yscale("log")
lat.set_ylabel("latency, ms (log)")
lat.legend(ncol=4, fontsize=8)
lat.grid(alpha=0.3)
ts = sorted(rss)
mem.plot(ts, [rss[t] for t in ts], color="k")
mem.set_ylim(0, max(rss.values()) * 1.3)
mem.set_ylabel("RSS, MB")
mem.set_xlabel("seconds")
mem.grid(alpha=0.3)
fig.suptitle(f"jszg soak ({src})")
fig.tight_layout()
fig.savefig(out, dpi=100)
print(out)
