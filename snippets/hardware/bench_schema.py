from mlatlas.labs.bench.report import FIELDS

for name, fields in FIELDS.items():
    print(f"\n**`{name}`**\n")
    print("| key | type | meaning |\n|---|---|---|")
    for key, (kind, meaning) in fields.items():
        print(f"| `{key}` | {kind} | {meaning} |")
