#!/usr/bin/python3
"""Counts passed and failed tests in JUnit XML files (meson, pytest, ours).

tally.py FILE...        prints the final line "N passed, N failed"; exit 1 if any failed
tally.py --one FILE     prints one suite's counts (and its failures' names)
"""
import sys
import xml.etree.ElementTree as ET


def count(path):
    passed, failed, names = 0, 0, []
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        return 0, 1, [f"{path}: unreadable results ({e})"]
    cases = list(root.iter("testcase"))
    for c in cases:
        if c.find("skipped") is not None:
            continue
        if c.find("failure") is not None or c.find("error") is not None:
            failed += 1
            names.append(f"{c.get('classname', '')}::{c.get('name', '')}".strip(":"))
        else:
            passed += 1
    return passed, failed, names


def main(argv):
    if argv and argv[0] == "--one":
        p, f, names = count(argv[1])
        status = "ok" if f == 0 else "FAILED"
        print(f"   {p} passed, {f} failed: {status}")
        for n in names:
            print(f"   failed: {n}")
        if f and "--log" in argv:
            log = argv[argv.index("--log") + 1]
            try:
                lines = open(log, errors="replace").read().splitlines()
                print("\n".join("   | " + l for l in lines[-60:]))
            except OSError:
                pass
        return 0
    tp = tf = 0
    for path in argv:
        p, f, _ = count(path)
        tp += p
        tf += f
    print(f"{tp} passed, {tf} failed")
    return 1 if tf else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
