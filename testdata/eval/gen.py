"""Writes the eval reader fixtures in the exact Hugging Face dataset schemas.

Run once from this directory (needs pyarrow):  python3 gen.py
The outputs are committed; tests never run Python.

Each task gets <name>.jsonl and <name>.parquet with the same rows, plus a
nanochat task_data cache layout (task_data/<repo>/<subset>/<split>/00000.parquet,
00001.parquet + manifest.json) for GSM8K, split into two shards.
"""
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq

GSM8K = [
    {"question": "Tom has 12 apples and buys 7 more. How many apples does he have?",
     "answer": "Tom has 12+7 = <<12+7=19>>19 apples.\n#### 19"},
    {"question": "A box holds 1,200 pens. 3 boxes hold how many pens?",
     "answer": "3 boxes hold 3*1200 = <<3*1200=3600>>3,600 pens.\n#### 3,600"},
    {"question": "Sara had 5 dollars and spent 7. What is her balance?",
     "answer": "Her balance is 5-7 = <<5-7=-2>>-2 dollars.\n#### -2"},
    {"question": "Half of 5?", "answer": "Half is 5/2 = <<5/2=2.5>>2.5\n#### 2.5"},
    {"question": "No tools here: what is 2 and 2?", "answer": "It is 4.\n#### 4"},
]

MMLU = [
    {"question": "What is 2 + 3?", "subject": "elementary_mathematics", "choices": ["4", "5", "6", "7"], "answer": 1},
    {"question": "What is the capital of France?", "subject": "high_school_geography",
     "choices": ["Lyon", "Marseille", "Paris", "Nice"], "answer": 2},
    {"question": "Which planet is known as the red planet?", "subject": "astronomy",
     "choices": ["Mars", "Venus", "Jupiter", "Saturn"], "answer": 0},
    {"question": "Unicode: which is «ü»?", "subject": "miscellaneous",
     "choices": ["a", "o", "u", "ü"], "answer": 3},
]

ARC = [
    {"id": "Mercury_7175875", "question": "Which animal is a mammal?",
     "choices": {"text": ["shark", "whale", "trout", "frog"], "label": ["A", "B", "C", "D"]}, "answerKey": "B"},
    {"id": "NYSEDREGENTS_2015_4_8", "question": "Which is a gas at room temperature?",
     "choices": {"text": ["iron", "oxygen", "wood"], "label": ["1", "2", "3"]}, "answerKey": "2"},
    {"id": "MCAS_2000_4_6", "question": "Which lasts the longest?",
     "choices": {"text": ["a second", "a minute", "an hour", "a day", "a week"], "label": ["A", "B", "C", "D", "E"]},
     "answerKey": "E"},
]

HUMANEVAL = [
    {"task_id": "HumanEval/0",
     "prompt": "from typing import List\n\n\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n    \"\"\" Check if in given list of numbers, are any two numbers closer to each other than\n    given threshold.\n    >>> has_close_elements([1.0, 2.0, 3.0], 0.5)\n    False\n    \"\"\"\n",
     "canonical_solution": "    for idx, elem in enumerate(numbers):\n        for idx2, elem2 in enumerate(numbers):\n            if idx != idx2:\n                distance = abs(elem - elem2)\n                if distance < threshold:\n                    return True\n\n    return False\n",
     "test": "\n\nMETADATA = {\n    'author': 'jt',\n    'dataset': 'test'\n}\n\n\ndef check(candidate):\n    assert candidate([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3) == True\n    assert candidate([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.05) == False\n\n",
     "entry_point": "has_close_elements"},
    {"task_id": "HumanEval/2",
     "prompt": "\n\ndef truncate_number(number: float) -> float:\n    \"\"\" Given a positive floating point number, return its decimal part.\n    >>> truncate_number(3.5)\n    0.5\n    \"\"\"\n",
     "canonical_solution": "    return number % 1.0\n",
     "test": "\n\nMETADATA = {}\n\n\ndef check(candidate):\n    assert candidate(3.5) == 0.5\n    assert abs(candidate(1.33) - 0.33) < 1e-6\n",
     "entry_point": "truncate_number"},
    {"task_id": "HumanEval/22",
     "prompt": "# a comment first\nimport math\nfrom typing import List, Any\n\n\ndef filter_integers(values: List[Any]) -> List[int]:\n    \"\"\" Filter given list of any python values only for integers\n    \"\"\"\n",
     "canonical_solution": "    return [x for x in values if isinstance(x, int)]\n",
     "test": "\n\nMETADATA = {}\n\n\ndef check(candidate):\n    assert candidate([]) == []\n    assert candidate([4, {}, [], 23.2, 9, 'adasd']) == [4, 9]\n",
     "entry_point": "filter_integers"},
]

SCHEMAS = {
    "gsm8k": pa.schema([("question", pa.string()), ("answer", pa.string())]),
    "mmlu": pa.schema([("question", pa.string()), ("subject", pa.string()),
                       ("choices", pa.list_(pa.string())), ("answer", pa.int64())]),
    "arc": pa.schema([("id", pa.string()), ("question", pa.string()),
                      ("choices", pa.struct([("text", pa.list_(pa.string())), ("label", pa.list_(pa.string()))])),
                      ("answerKey", pa.string())]),
    "humaneval": pa.schema([(k, pa.string()) for k in ("task_id", "prompt", "canonical_solution", "test", "entry_point")]),
}
ROWS = {"gsm8k": GSM8K, "mmlu": MMLU, "arc": ARC, "humaneval": HUMANEVAL}


def write(name, rows, path, **kw):
    table = pa.Table.from_pylist(rows, schema=SCHEMAS[name])
    pq.write_table(table, path, **kw)


for name, rows in ROWS.items():
    with open(f"{name}.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    write(name, rows, f"{name}.parquet")

# Older writers name list elements "item" (non-compliant nested types).
write("mmlu", MMLU, "mmlu_legacy_lists.parquet", use_compliant_nested_type=False)

# nanochat's cache layout, two shards.
shards = "task_data/openai--gsm8k/main/test"
os.makedirs(shards, exist_ok=True)
write("gsm8k", GSM8K[:3], f"{shards}/00000.parquet")
write("gsm8k", GSM8K[3:], f"{shards}/00001.parquet")
with open(f"{shards}/manifest.json", "w") as f:
    json.dump(["00000.parquet", "00001.parquet"], f)
