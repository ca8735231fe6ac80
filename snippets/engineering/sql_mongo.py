from mlatlas.knowledge_base import build, find, long_pages, read_pages

documents = [{"path": p.path, "title": p.title, **p.meta()} for p in read_pages("docs")]

# What db.pages.find(query) would be given in MongoDB, written as a Python dict:
query = {"words": {"$gte": 1500}, "headings": "Sources"}
for doc in find(documents, query):
    print(f"{doc['words']:5}  {doc['path']}")

# Without the array condition it is the SQL query json_extract(meta, '$.words') >= 1500:
by_filter = {doc["path"] for doc in find(documents, {"words": {"$gte": 1500}})}
by_sql = {path for path, _ in long_pages(build("docs"), 1500)}
print("filter and SQL agree:", by_filter == by_sql, sorted(by_sql))
