"""Compares lm-evaluation-harness's multiple-choice results through `nanochat serve`
with `nanochat eval`'s on the same toy items (scripts/lmeval-check.sh runs it):
the accuracies must be equal, and so must every item's chosen letter.

    compare.py NANOCHAT_EVAL_JSON NANOCHAT_SAMPLES_JSONL LMEVAL_OUTPUT_DIR
"""
import glob
import json
import os
import sys

# lm-eval task (testdata/lmeval/*.yaml) -> nanochat eval task
TASKS = {"nanochat_mmlu_toy": "mmlu", "nanochat_arc_toy": "arc-easy"}


def letters(task, doc):
    return ["A", "B", "C", "D"] if task == "nanochat_mmlu_toy" else doc["choices"]["label"]


def main(report_path, samples_path, lm_dir):
    report = {t["id"]: t for t in json.load(open(report_path))["tasks"]}
    ours = {}
    for line in open(samples_path):
        r = json.loads(line)
        ours[(r["task"], r["row"])] = r["predicted"]
    results = sorted(glob.glob(os.path.join(lm_dir, "**", "results_*.json"), recursive=True))
    if not results:
        sys.exit(f"no lm-eval results under {lm_dir}")
    lm = json.load(open(results[-1]))["results"]
    ok = True
    print(f"{'task':<20} {'lm-eval acc':>12} {'nanochat eval':>14} {'items':>6} {'differ':>7}")
    for lm_task, task in TASKS.items():
        acc, n = lm[lm_task]["acc,none"], report[task]["n"]
        want = report[task]["accuracy"]
        if report[task].get("scoring") != "logprobs":
            print(f"{task}: nanochat eval scored by {report[task].get('scoring')!r}, want 'logprobs'")
            ok = False
        differ = []
        files = glob.glob(os.path.join(lm_dir, "**", f"samples_{lm_task}_*.jsonl"), recursive=True)
        seen = 0
        for line in open(sorted(files)[-1]):
            s = json.loads(line)
            lls = [float(r[0]) for r in s["filtered_resps"]]
            pick = letters(lm_task, s["doc"])[lls.index(max(lls))]  # np.argmax: first of equals
            seen += 1
            if ours.get((task, s["doc_id"])) != pick:
                differ.append((s["doc_id"], pick, ours.get((task, s["doc_id"]))))
        print(f"{lm_task:<20} {acc:>12.4f} {want:>14.4f} {n:>6} {len(differ):>7}")
        for doc_id, pick, our in differ[:10]:
            print(f"  row {doc_id}: lm-eval picked {pick}, nanochat eval {our}")
        if abs(acc - want) > 1e-9 or differ or seen != n:
            ok = False
    if not ok:
        sys.exit("lmeval-check: lm-eval through nanochat serve disagrees with nanochat eval")
    print("lmeval-check: lm-eval through nanochat serve equals nanochat eval")


if __name__ == "__main__":
    main(*sys.argv[1:4])
