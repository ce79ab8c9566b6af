# Records chat_web.py's answers to the requests of TestUpstreamValidation:
#   python -m venv v && v/bin/pip install fastapi httpx
#   v/bin/python cases.py > ../upstream_validation.json
# (recorded with fastapi 0.165.0, pydantic 2.14.4, Python 3.11).
import json, sys
from fastapi.testclient import TestClient
sys.path.insert(0, __import__("os").path.dirname(__file__))
from app import app
c = TestClient(app)
long = "é" * 8001
cases = [
 ("empty", '{"messages":[]}'),
 ("too many", json.dumps({"messages":[{"role":"user","content":"x"}]*501})),
 ("empty content", '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":""}]}'),
 ("too long", json.dumps({"messages":[{"role":"user","content":long}]}, ensure_ascii=False)),
 ("long ok 8000 code points", json.dumps({"messages":[{"role":"user","content":"é"*8000}]}, ensure_ascii=False)),
 ("total", json.dumps({"messages":[{"role":"user","content":"a"*8000}]*5})),
 ("system role", '{"messages":[{"role":"system","content":"s"},{"role":"user","content":"u"}]}'),
 ("empty before role", '{"messages":[{"role":"bogus","content":"s"},{"role":"user","content":""}]}'),
 ("temperature", '{"messages":[{"role":"user","content":"u"}],"temperature":2.5}'),
 ("temperature and top_k", '{"messages":[{"role":"user","content":"u"}],"temperature":-1,"top_k":500}'),
 ("top_k", '{"messages":[{"role":"user","content":"u"}],"top_k":201}'),
 ("max_tokens", '{"messages":[{"role":"user","content":"u"}],"max_tokens":0}'),
 ("max_tokens big", '{"messages":[{"role":"user","content":"u"}],"max_tokens":4097}'),
 ("missing messages", '{"temperature":0.5}'),
 ("messages not list", '{"messages":"hi"}'),
 ("message not object", '{"messages":["hi"]}'),
 ("content int", '{"messages":[{"role":"user","content":5}]}'),
 ("missing content", '{"messages":[{"role":"user"}]}'),
 ("temperature string", '{"messages":[{"role":"user","content":"u"}],"temperature":"hot"}'),
 ("temperature numeric string", '{"messages":[{"role":"user","content":"u"}],"temperature":"3"}'),
 ("top_k float", '{"messages":[{"role":"user","content":"u"}],"top_k":1.5}'),
 ("top_k string", '{"messages":[{"role":"user","content":"u"}],"top_k":"abc"}'),
 ("max_tokens list", '{"messages":[{"role":"user","content":"u"}],"max_tokens":[1]}'),
 ("two errors", '{"messages":[{"role":1,"content":"u"}],"top_k":"abc"}'),
 ("not json", '{"messages": [}'),
 ("not an object", '[1,2]'),
 ("trailing comma", '{"messages": [1,]}'),
 ("missing colon", '{"messages" 1}'),
 ("bad key", '{messages: 1}'),
 ("missing comma", '{"messages": [] "x": 1}'),
 ("truncated", '{"messages": [{"role": "user"'),
 ("extra data", '{"messages": []} x'),
 ("empty body", ''),
 ("null body", 'null'),
 ("duplicate key", '{"messages": 5, "messages": [{"role":"user","content":""}]}'),
 ("floats", '{"messages": [{"role":"user","content":"x"}], "temperature": 1e1, "top_k": 2.0, "max_tokens": 1E2}'),
 ("bools", '{"messages": [{"role":"user","content":"x"}], "temperature": true, "top_k": false}'),
 ("unicode input", '{"messages": [{"role":"user","content":["é\u2028\n"]}]}'),
]
out = []
for name, body in cases:
    r = c.post("/chat/completions", content=body.encode(), headers={"content-type": "application/json"})
    out.append({"name": name, "body": body, "status": r.status_code, "response": r.content.decode()})
json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
