#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""check-man.py - the man pages say what the code does (part of `make lint`).

Fails, naming each miss, when:
  - a command, keyword or option `tollgate --help` prints is not in tollgate(8);
  - an option of `tollgated --help` is not in tollgated(8);
  - a long or short option the code parses (struct option tables and getopt strings in
    user/cli/*.c, user/daemon/tollgated.c) is not in the page of its program;
  - an environment variable the code reads (getenv in user/) is in neither page;
  - a configuration key the parser accepts or a customers CSV column is not the head of a
    list item (.It ... Cm KEY) in tollgate.yaml(5). The keys are taken twice: from the
    *keys[] and col_names[] tables of user/config/*.c, and from the parser itself:
    `tollgate check-config` on a probe file with an unknown key at every level, whose
    errors list the keys known there (every top-level key is probed as a section too, so
    a new section is found without changing this script).
The pages are compared as mandoc renders them, so "Fl -force" counts as "--force".
Too few names found in the code is an error too: the extraction broke, not the pages.

Usage: scripts/check-man.py [BUILD]   (BUILD: the build directory, default build)
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
MAN = os.path.join(ROOT, "docs", "man")
errors = []


def fail(msg):
    errors.append(msg)


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def render(page):
    try:
        out = subprocess.run(["mandoc", "-Tascii", os.path.join(MAN, page)],
                             check=True, capture_output=True, text=True).stdout
    except FileNotFoundError:
        sys.exit("check-man: mandoc not found: run scripts/install-deps.sh")
    return re.sub(r".\x08", "", out)  # strip overstrike (bold, underline)


def helptext(binary):
    path = os.path.join(BUILD, binary)
    if not os.access(path, os.X_OK):
        sys.exit(f"check-man: {path} not built: run make all first")
    return subprocess.run([path, "--help"], check=True, capture_output=True,
                          text=True).stdout


def has_word(text, word):
    return re.search(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])", text) is not None


def options_in_code(files):
    """--long options of struct option tables and -x options of getopt strings."""
    opts = set()
    for path in files:
        src = read(path)
        for table in re.findall(r"struct option \w+\[\] = \{(.*?)\};", src, re.S):
            opts.update("--" + n for n in re.findall(
                r'\{\s*"([\w-]+)"\s*,\s*(?:no|required|optional)_argument', table))
        for spec in re.findall(r'getopt_long\([^;]*?,[^;]*?,\s*"([^"]*)"', src):
            opts.update("-" + c for c in spec if c.isalnum())
    return opts


def check_help(binary, page_text, page):
    text = helptext(binary)
    opts = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", text))
    words = set()
    for line in text.splitlines():
        if line.startswith("  "):  # a command's usage line: its literal words
            words.update(w for w in re.findall(r"(?<![\w$-])([a-z][a-z0-9-]*)(?![\w-])", line))
    for w in sorted(words):
        if not has_word(page_text, w):
            fail(f"{page}: '{w}' (in `{binary} --help`) is not in the page")
    for o in sorted(opts):
        if not has_word(page_text, o):
            fail(f"{page}: option {o} (in `{binary} --help`) is not in the page")
    return opts, words


PROBE_YAML = """\
zz_probe: 1
interfaces:
  - { name: eth1, role: customer, zz_probe: 1, exceptions: { rate: 200pps, zz_probe: 1 } }
plans:
  p:
    zz_probe: 1
    upload: { rate: 1mbit, burst: 64k, zz_probe: 1 }
    flood: { zz_probe: 1, syn: { rate: 10pps, zz_probe: 1 } }
customers: probe.csv
capacity: { zz_probe: 1 }
metrics: { zz_probe: 1 }
control: { zz_probe: 1 }
enforcement:
  zz_probe: 1
  rules:
    - { name: r, when: "spoof_pps > 1", action: notify, zz_probe: 1,
        escalate: { count: 2, within: 1h, zz_probe: 1 } }
notify: { zz_probe: 1, retry: { min: 1s, max: 5s, zz_probe: 1 } }
"""


def probe_keys():
    """The keys the parser knows, from its own "unknown key" errors: {where: [keys]}."""
    found = {}
    with tempfile.TemporaryDirectory(prefix="check-man.") as tmp:
        with open(os.path.join(tmp, "probe.csv"), "w", encoding="utf-8") as f:
            f.write("id,plan,prefixes,zz_probe\nc1,p,192.0.2.1,x\n")
        text = PROBE_YAML
        for _ in range(2):  # the second pass probes top-level keys the first did not
            with open(os.path.join(tmp, "probe.yaml"), "w", encoding="utf-8") as f:
                f.write(text)
            out = subprocess.run([os.path.join(BUILD, "tollgate"), "-j", "check-config",
                                  os.path.join(tmp, "probe.yaml")],
                                 capture_output=True, text=True).stdout
            try:
                errs = json.loads(out)["errors"]
            except (ValueError, KeyError, TypeError):
                fail(f"tollgate -j check-config on the probe file: no errors array in {out[:200]!r}")
                return found
            for e in errs:
                m = re.search(r"unknown key 'zz_probe' in (.*) \(known: (.*)\)$", e)
                if m:
                    found[m.group(1)] = m.group(2).split(", ")
                m = re.search(r"unknown column 'zz_probe' \(known: (.*)\)$", e)
                if m:
                    found["customers CSV"] = m.group(1).split(", ")
            top = found.get("the configuration", [])
            have = set(re.findall(r"^(\w+):", text, re.M))
            extra = [k for k in top if k not in have]
            if not extra:
                break
            text += "".join(f"{k}: {{ zz_probe: 1 }}\n" for k in extra)
    return found


def main():
    cli_page, d_page = render("tollgate.8"), render("tollgated.8")

    opts, words = check_help("tollgate", cli_page, "tollgate.8")
    if len(words) < 10 or len(opts) < 8:
        fail(f"tollgate --help: only {len(words)} words and {len(opts)} options found")
    opts, _ = check_help("tollgated", d_page, "tollgated.8")
    if len(opts) < 4:
        fail(f"tollgated --help: only {len(opts)} options found")

    cli_src = sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "user/cli/*.c")))
    for page, text, files in (("tollgate.8", cli_page, cli_src),
                              ("tollgated.8", d_page, ["user/daemon/tollgated.c"])):
        found = options_in_code(files)
        if len(found) < 4:
            fail(f"{page}: only {len(found)} options found in {', '.join(files)}")
        for o in sorted(found):
            if not has_word(text, o):
                fail(f"{page}: option {o} (parsed in {', '.join(files)}) is not in the page")

    envs = set()
    for path in glob.glob(os.path.join(ROOT, "user/*/*.c")):
        envs.update(re.findall(r'getenv\("(\w+)"\)', read(os.path.relpath(path, ROOT))))
    for e in sorted(envs):
        if not has_word(cli_page, e) and not has_word(d_page, e):
            fail(f"environment variable {e} (read in user/) is in neither tollgate.8 nor tollgated.8")

    src = read("docs/man/tollgate.yaml.5")
    heads = " ".join(line for line in src.splitlines() if line.startswith(".It "))
    documented = set(re.findall(r"\bCm ([\w.-]+)", heads))
    keys = set()
    for path in sorted(glob.glob(os.path.join(ROOT, "user/config/*.c"))):
        code = read(os.path.relpath(path, ROOT))
        for name, body in re.findall(
                r"const char \*const (\w*keys|col_names)\[[^\]]*\]\s*=\s*\{(.*?)\};", code, re.S):
            for k in re.findall(r'"([^"]+)"', body):
                keys.add(k)
                if k not in documented:
                    fail(f"tollgate.yaml.5: key '{k}' ({os.path.relpath(path, ROOT)}: {name}) "
                         "is not the head of a list item (.It ... Cm " + k + ")")
    if len(keys) < 50:
        fail(f"only {len(keys)} configuration keys found in user/config/*.c: the *keys[] "
             "tables moved? update scripts/check-man.py")

    probed = probe_keys()
    nprobed = sum(len(v) for v in probed.values())
    if len(probed) < 12 or "customers CSV" not in probed:
        fail(f"the probe of tollgate check-config found the keys of only {len(probed)} "
             "sections: its error messages changed? update scripts/check-man.py")
    for where, names in sorted(probed.items()):
        for k in names:
            if k not in documented:
                fail(f"tollgate.yaml.5: key '{k}' (accepted in {where}) is not the head of a "
                     "list item (.It ... Cm " + k + ")")
    if os.environ.get("V") == "1":
        print(f"check-man: {len(keys)} keys in the tables, {nprobed} probed in {len(probed)} sections")

    for e in errors:
        print("check-man: " + e, file=sys.stderr)
    if errors:
        print(f"check-man: {len(errors)} problem(s): update docs/man/ to match the code",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
