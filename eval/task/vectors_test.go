package task

// Vectors from upstream tasks/humaneval.py (extract_program / extract_imports) run in Python.
var extractProgramVectors = [][2]string{
	{"```python\ndef f(x):\n    return x\n```", "def f(x):\n    return x"},
	{"Here you go:\n```\ndef f(x):\n    return 1\n```\nand\n```python\nother\n```", "def f(x):\n    return 1"},
	{"```python   \t\n  code  \n```", "code"},
	{"```python\n```", "```python\n```"},
	{"```python\n\n```", ""},
	{"```python\u3000\nunicode-space fence\n```", "unicode-space fence"},
	{"```pythonic\nx\n```", "```pythonic\nx\n```"},
	{"   def f():\n  return 2   \n\n", "def f():\n  return 2"},
	{"```python\nno closing fence", "```python\nno closing fence"},
	{"text ```python\na\n``` more ```python\nb\n```", "a"},
	{"\u001c\u001dcode\u001f", "code"},
	{"```python\r\nwindows\r\n```", "windows"},
}

var extractImportsVectors = [][2]string{
	{"from typing import List\n\n\ndef f():\n    pass\n", "from typing import List"},
	{"# c\n  import math\n\nfrom x import (y)\nz = 1\nimport late\n", "import math\nfrom x import (y)"},
	{"\n\ndef g(): pass\n", ""},
	{"import os, sys\n#comment\nimport re\t\n", "import os, sys\nimport re"},
}
