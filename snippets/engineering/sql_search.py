from mlatlas.knowledge_base import build, search

conn = build("docs")
for query in ["kv cache", "scaling laws", "relief"]:
    print(f"search: {query!r}")
    for hit in search(conn, query, limit=3):
        print(f"  {hit.score:6.2f}  {hit.path:30}  {hit.title}")
        print(f"          {hit.snippet}")
