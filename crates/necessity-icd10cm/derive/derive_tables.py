#!/usr/bin/env python3
"""Derive the compact billable ICD-10-CM tables from the CMS files that the PyPI package
`simple-icd-10-cm` ships (the CMS tabular XML is public domain; the package is MIT).

Usage (from this folder):
    pip download --no-deps -d wheels simple-icd-10-cm==1.5.0 simple-icd-10-cm==1.4.0
    python3 derive_tables.py wheels/simple_icd_10_cm-1.5.0-py3-none-any.whl 2026-04-01
    python3 derive_tables.py wheels/simple_icd_10_cm-1.4.0-py3-none-any.whl 2025-04-01

A code is billable when it is a leaf of the tabular list (no subdivision below it),
seventh-character extensions included, as the package builds them. One output line per
three-character category: the category, then the billable codes' remaining characters
separated by spaces, `.` standing for the category itself when it is billable.
"""

import hashlib
import sys
import tempfile
import zipfile
from collections import defaultdict
from pathlib import Path


def main() -> None:
    wheel, effective_from = Path(sys.argv[1]), sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(wheel) as z:
            z.extractall(tmp)
        sys.path.insert(0, tmp)
        import simple_icd_10_cm as icd  # noqa: PLC0415 (imported from the unpacked wheel)

        data = Path(tmp) / "simple_icd_10_cm" / "data"
        source = next(data.glob("*tabular*.xml"))
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        by_category = defaultdict(list)
        count = 0
        for code in icd.get_all_codes(False):
            if icd.is_chapter_or_block(code) or not icd.is_leaf(code):
                continue
            by_category[code[:3]].append(code[3:] or ".")
            count += 1
    out = Path(__file__).resolve().parent.parent / "data" / f"icd10cm-billable-{effective_from}.txt"
    with out.open("w") as f:
        f.write(f"# ICD-10-CM billable codes in force from {effective_from}\n")
        f.write(f"# derived by derive/derive_tables.py from {wheel.name}, {source.name}\n")
        f.write(f"# source sha256 {digest}; {count} codes\n")
        for category in sorted(by_category):
            f.write(category + " " + " ".join(sorted(by_category[category])) + "\n")
    print(f"{out.name}: {count} billable codes in {len(by_category)} categories")


if __name__ == "__main__":
    main()
