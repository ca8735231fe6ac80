from mlatlas.errors import MlatlasError
from mlatlas.knowledge_base import build, fts_query, search

conn = build("docs")
typed = 'attention "heads" AND (NOT cache*'
print("typed:     ", typed)
print("FTS5 query:", fts_query(typed))
print("hits:      ", [hit.path for hit in search(conn, typed, limit=3)])
try:
    search(conn, '"" ( ) *')
except MlatlasError as err:
    print("refused:   ", err)
