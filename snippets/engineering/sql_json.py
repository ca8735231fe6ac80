from mlatlas.knowledge_base import build, long_pages, most_linked, pages_with_heading

conn = build("docs")
print(conn.execute("SELECT meta FROM pages WHERE path = 'labs/extrusion.md'").fetchone()[0][:160], "...")
print("\npages of 1500 words or more (json_extract):")
for path, words in long_pages(conn, 1500):
    print(f"  {words:5}  {path}")
print("\nheadings that mention 'cache' (json_each over $.headings):")
for path, heading in pages_with_heading(conn, "cache"):
    print(f"  {path}: {heading}")
print("\nmost linked pages (json_each over $.links, GROUP BY):")
for target, n in most_linked(conn, 3):
    print(f"  {n}  {target}")
