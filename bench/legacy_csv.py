"""Write N legacy account rows (REC-4 columns) with valid resident ID
numbers, for the import benchmark. Usage: legacy_csv.py N > accounts.csv"""
import random
import sys

W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def resident_id(i):
    year = 1950 + i % 50
    month = 1 + (i // 50) % 12
    day = 1 + (i // 600) % 28
    region = 110000 + (i // 16800) % 999
    first17 = "%06d%04d%02d%02d%03d" % (region, year, month, day, i % 1000)
    return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, W)) % 11]


def main():
    n = int(sys.argv[1])
    rng = random.Random(42)
    out = sys.stdout
    out.write("doc_type,doc_number,name,password_hash_or_empty,email,phone,registered_at\n")
    seen = set()
    i = 0
    while len(seen) < n:
        doc = resident_id(i)
        i += 1
        if doc in seen:
            continue
        seen.add(doc)
        out.write("resident_id,%s,张%s,,%d@qq.com,13%09d,2017-%02d-%02dT08:00:00+08:00\n" % (
            doc, "三四五六七八九十"[len(seen) % 8], 10000 + len(seen), rng.randrange(10**9), 1 + len(seen) % 12, 1 + len(seen) % 28))


if __name__ == "__main__":
    main()
