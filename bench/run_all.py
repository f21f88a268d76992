"""Every benchmark, one after the other; one line per figure named as the Proof issue names
them (P1 … P8), each with its ratio, goal and whether the goal is met.

``bench/run_all [--quick] [--json]``. Each script measures its reference in the same run
(stock pyHanko, ``openssl ocsp``, ``openssl ts``, the same report at 100,000 events, one
server process); this only runs them and renames their figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
Figure = dict[str, Any]

GOALS: dict[str, tuple[str, float]] = {
    "P1": (">=", 2.0),
    "P2": ("<=", 2.0),
    "P3_mem": ("<=", 1.0),
    "P3_time": ("<=", 1.3),
    "P4": (">=", 0.8),
    "P5": (">=", 1.0),
    "P5n": (">=", 1.0),
    "P5c": (">=", 3.0),
    "P6": (">=", 5.0),
    "P7": ("<=", 2.0),
    "P8": (">=", 1.6),
}


def _from_sign(lines: list[Figure]) -> list[Figure]:
    by_name = {line["metric"]: line for line in lines}
    out = []
    pairs: list[tuple[str, str, Callable[[Figure], float]]] = [
        ("P1", "sign_api_per_s_B-T_batch", lambda f: f["ratio"]),
        ("P2", "sign_latency_ms_B-T", lambda f: f["ratio"]),
        ("P3_time", "sign_time_s_100MB", lambda f: f["ratio"]),
        ("P3_mem", "sign_memory_growth_mb_100MB", lambda f: f["ours_per_file_size"]),
    ]
    for metric, name, ratio in pairs:
        if name in by_name:
            figure = by_name[name]
            out.append({**figure, "metric": metric, "ratio": round(ratio(figure), 3),
                        "source": name})  # fmt: skip
    out += [{**f, "metric": f"context:{f['metric']}"} for f in lines
            if f["metric"] not in {name for _, name, _ in pairs}]  # fmt: skip
    return out


def _same(lines: list[Figure]) -> list[Figure]:
    return lines


# script, its arguments (quick, full), how its lines become P figures, the metrics it gives
RUNS: list[tuple[str, list[str], list[str], Callable[[list[Figure]], list[Figure]], list[str]]] = [
    ("sign.py", ["--sizes", "100"], ["--sizes", "100", "200"], _from_sign,
     ["P1", "P2", "P3_time", "P3_mem"]),
    ("verify.py", ["--large-mb", "0"], [], _same, ["P4"]),
    ("ocsp.py", [], [], _same, ["P5n", "P5c", "P5"]),
    ("tsa.py", [], [], _same, ["P6"]),
    ("billing_report.py", [], [], _same, ["P7"]),
    ("scale.py", [], [], _same, ["P8"]),
]  # fmt: skip


SERVER_SCRIPTS = ("sign.py", "ocsp.py", "tsa.py")
"""The scripts whose kyso runs on the key store and engine chosen (P1-P3, P5, P6)."""

Run = tuple[str, list[str], list[str], Callable[[list[Figure]], list[Figure]], list[str], str, str]
"""A script's entry of RUNS with the key store and the engine it runs on."""


def _suffixed(metric: str, keystore: str, engine: str = "uvicorn") -> str:
    suffix = ("" if keystore == "file" else f"_{keystore}") + (
        "" if engine == "uvicorn" else f"_{engine}"
    )
    return metric + suffix


def _on_server(figure: Figure, keystore: str, engine: str) -> Figure:
    metric = _suffixed(figure["metric"], keystore, engine)
    return {**figure, "metric": metric, "keystore": keystore, "engine": engine}


def _runs(keystore: str, engine: str) -> list[Run]:
    """RUNS on the file store and uvicorn; the server scripts again on SoftHSM2 for
    ``--keystore both`` and on granian for ``--engine both``."""
    keystores = ["file", "pkcs11"] if keystore == "both" else [keystore]
    engines = ["uvicorn", "granian"] if engine == "both" else [engine]
    runs: list[Run] = []
    for entry in RUNS:
        if entry[0] not in SERVER_SCRIPTS:
            runs.append((*entry, "file", "uvicorn"))
            continue
        runs += [(*entry, k, e) for e in engines for k in keystores]
    return runs


CEILING_SHARE = 0.8
"""P5c's second goal: kyso's pre-produced answers at >= 0.8 of the engine's fixed-bytes rate."""


def _judge(figure: Figure) -> Figure:
    goal = GOALS.get(figure["metric"].removesuffix("_granian").removesuffix("_pkcs11"))
    if goal is None or not isinstance(figure.get("ratio"), int | float):
        return figure
    sense, bound = goal
    met = figure["ratio"] >= bound if sense == ">=" else figure["ratio"] <= bound
    shown = f"{sense} {bound:g}"
    if figure["metric"].startswith("P5c"):
        met = met and figure.get("of_ceiling", 0) >= CEILING_SHARE
        shown += f", >= {CEILING_SHARE:g} of ceiling"
    return {**figure, "goal": shown, "met": met}


def run(script: str, args: list[str], quick: bool) -> list[Figure]:
    command = [sys.executable, str(HERE / script), "--json", *(["--quick"] if quick else []), *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=HERE)
    if done.returncode != 0:
        raise RuntimeError(f"{script} exited {done.returncode}: {done.stderr[-2000:]}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="every script's short run")
    parser.add_argument("--json", action="store_true", help="one JSON line per figure")
    parser.add_argument("--only", nargs="*", help="scripts to run (e.g. sign.py scale.py)")
    parser.add_argument("--keystore", choices=["file", "pkcs11", "both"], default="file",
                        help="kyso's key store for P1, P5, P6 (sign, ocsp, tsa); 'both' runs "
                        "them on the file store, then on SoftHSM2 as P1_pkcs11 …")  # fmt: skip
    parser.add_argument("--engine", choices=["uvicorn", "granian", "both"], default="uvicorn",
                        help="kyso serve --engine for P1-P3, P5, P6; 'both' runs them on "
                        "uvicorn, then on granian as P1_granian …")  # fmt: skip
    options = parser.parse_args(argv)
    failed = False
    table: list[Figure] = []
    for script, quick_args, full_args, convert, metrics, keystore, engine in _runs(
        options.keystore, options.engine
    ):
        if options.only and script not in options.only:
            continue
        started = time.monotonic()
        args = quick_args if options.quick else full_args
        if script in SERVER_SCRIPTS:
            args = [*args, "--keystore", keystore, "--engine", engine]
        try:
            figures = [_judge(_on_server(f, keystore, engine))
                       for f in convert(run(script, args, options.quick))]  # fmt: skip
        except (RuntimeError, ValueError, KeyError) as exc:
            failed = True
            figures = [{"metric": _suffixed(m, keystore, engine), "error": str(exc)[-500:],
                        "met": False, "keystore": keystore, "engine": engine}
                       for m in metrics]  # fmt: skip
        for figure in figures:
            figure["script_s"] = round(time.monotonic() - started, 1)
            if options.json:
                print(json.dumps(figure), flush=True)
            table.append(figure)
    if not options.json:
        print(f"{'metric':<18} {'ratio':>8}  {'goal':<28} {'met':<5} from")
        for figure in table:
            if figure["metric"].startswith("context:"):
                continue
            ratio = figure.get("ratio")
            shown = f"{ratio:8.2f}" if isinstance(ratio, int | float) else "   error"
            met = "yes" if figure.get("met") else "NO"
            print(f"{figure['metric']:<18} {shown}  {figure.get('goal', ''):<28} {met:<5} "
                  f"{figure.get('source', '')}")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
