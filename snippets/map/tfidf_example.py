from mlatlas.trees import keywords, tfidf

documents = ["The GPU cluster is fast.", "A cluster network, which is slow."]
for weights in tfidf(documents):
    print({term: round(w, 4) for term, w in weights.items()})
print(keywords(documents, top=1))
