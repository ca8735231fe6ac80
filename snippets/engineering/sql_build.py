from mlatlas.knowledge_base import build

conn = build("docs")  # the site's own pages, into an in-memory database
for (sql,) in conn.execute("SELECT sql FROM sqlite_master WHERE name IN ('pages', 'pages_fts')"):
    print(sql, end=";\n\n")
pages, words = conn.execute("SELECT count(*), sum(json_extract(meta, '$.words')) FROM pages").fetchone()
print(f"{pages} pages, {words} words indexed")
