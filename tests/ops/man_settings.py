"""Every setting the configuration parser accepts is documented in
doc/gslbd.conf.5, and the page documents no setting the parser refuses.

The parser is asked, not its source read: gslbd -t is given configs with a
setting "zz_bogus" in each group, and its error "unknown setting (expected
one of: ...)" lists what that group accepts. Groups are found the same way:
each accepted setting is tried as a group and as a list of groups, and a
group that then complains about zz_bogus is one. Groups with a "type" or
"policy" setting are asked once per type or policy (the values come from
the error for a bad one), so a check type's or a policy's own settings are
found too. New settings and new groups need no change here.

In the page, a group's settings are the ".It Ic NAME" items after the
comment line '.\\" group: PATH' (PATH as in error messages without list
indices: "pools.members"; the top level is "top").

Run: GSLBD=src/gslbd /usr/bin/python3 tests/ops/man_settings.py
"""

import os
import re
import subprocess
import sys
import tempfile

SRCDIR = os.environ.get("TOP_SRCDIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
GSLBD = os.environ.get("GSLBD") or os.path.join(SRCDIR, "src", "gslbd")
PAGE = os.path.join(SRCDIR, "doc", "gslbd.conf.5")
BOGUS = "zz_bogus"
SELECTORS = ("type", "policy")

UNKNOWN_RE = re.compile(r": (?:(?P<path>\S+)\.)?" + BOGUS +
                        r": unknown setting \(expected one of: (?P<list>[^)]*)\)\s*$")
CHOICES_RE = re.compile(r": (?P<path>\S+): expected (?P<list>.*), got \"" + BOGUS + "\"\\s*$")
runs = 0


def run(text):
    """gslbd -t on a config holding `text`; its stderr lines."""
    global runs
    runs += 1
    with tempfile.TemporaryDirectory(prefix="gslbd-man-") as d:
        conf = os.path.join(d, "gslbd.conf")
        with open(conf, "w") as f:
            f.write(text)
        p = subprocess.run([GSLBD, "-t", "-c", conf], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return p.stderr.decode(errors="replace").splitlines()


def wrap(path, inner):
    """Config text with `inner` (settings) at `path`: a list of (name, is_list)."""
    text = inner
    for name, is_list in reversed(path):
        text = "%s = %s{ %s }%s;" % (name, "( " if is_list else "", text, " )" if is_list else "")
    return text + "\n"


def error_path(path):
    """How gslbd names `path` in messages: pools[0].members[0]."""
    return ".".join(n + ("[0]" if is_list else "") for n, is_list in path)


def key(path):
    return ".".join(n for n, _ in path) or "top"


def accepted(path, base):
    """The settings the group at `path` accepts (with `base` settings in it)."""
    want = error_path(path)
    for line in run(wrap(path, base + "%s = 1;" % BOGUS)):
        m = UNKNOWN_RE.search(line)
        if m and (m.group("path") or "") == want:
            names = [n.strip() for n in m.group("list").split(",") if n.strip()]
            if not all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", n) for n in names):
                sys.exit("FAIL: cannot read the list of settings of %s (cut short?): %s"
                         % (key(path), m.group("list")))
            return names
    return None


def choices(path, base, selector):
    """The values a selector setting (type, policy) takes, from its error."""
    want = error_path(path + [(selector, False)])
    for line in run(wrap(path, base + '%s = "%s";' % (selector, BOGUS))):
        m = CHOICES_RE.search(line)
        if m and m.group("path") == want:
            return re.findall(r"[A-Za-z0-9_-]+", m.group("list").replace(" or ", ", "))
    return []


def subgroups(path, base, names, as_list):
    """Which of `names` are groups (or lists of groups) at `path`."""
    inner = base + " ".join("%s = %s{ %s = 1; }%s;" % (n, "( " if as_list else "", BOGUS,
                                                       " )" if as_list else "")
                            for n in names)
    found = set()
    for line in run(wrap(path, inner)):
        m = UNKNOWN_RE.search(line)
        if not m or not m.group("path"):
            continue
        for n in names:
            if m.group("path") == error_path(path + [(n, as_list)]):
                found.add(n)
    return found


def discover():
    """{group key: set of settings} for every group the parser has."""
    groups = {}
    todo = [[]]
    seen = set()
    while todo:
        path = todo.pop(0)
        if key(path) in seen:
            continue
        seen.add(key(path))
        names = accepted(path, "")
        if names is None:
            continue
        variants = [""]
        for sel in SELECTORS:
            if sel in names:
                variants += ['%s = "%s"; ' % (sel, v) for v in choices(path, "", sel)]
        found = groups.setdefault(key(path), set())
        for base in variants:
            here = names if base == "" else (accepted(path, base) or [])
            found.update(here)
            probe = [n for n in here if n not in SELECTORS]
            for as_list in (False, True):
                for n in sorted(subgroups(path, base, probe, as_list)):
                    todo.append(path + [(n, as_list)])
    return groups


def documented():
    """{group key: set of names} from the page's '.\\" group:' blocks."""
    doc = {}
    cur = None
    with open(PAGE, encoding="utf-8") as f:
        for line in f:
            m = re.match(r'^\.\\" group: (\S+)\s*$', line)
            if m:
                cur = doc.setdefault(m.group(1), set())
                continue
            m = re.match(r"^\.It Ic (\S+)", line)
            if m and cur is not None:
                cur.add(m.group(1))
    return doc


def main():
    if not os.access(GSLBD, os.X_OK):
        sys.exit("FAIL: no gslbd binary at %s (build it, or set GSLBD)" % GSLBD)
    groups = discover()
    # If gslbd's messages changed, discovery finds nothing and every check
    # below would pass: make sure it found what is known to be there.
    for must in (("top", "listen"), ("top", "zones"), ("pools", "name"),
                 ("pools.members", "address"), ("checks", "interval"), ("checks", "command")):
        if must[1] not in groups.get(must[0], ()):
            sys.exit("FAIL: discovery did not find setting %s.%s: has gslbd's 'unknown setting "
                     "(expected one of: ...)' message changed? found: %r" % (must + (groups,)))
    doc = documented()
    problems = []
    for g in sorted(groups):
        if g not in doc:
            problems.append("group %s (settings: %s) has no block in doc/gslbd.conf.5: add a "
                            "line '.\\\" group: %s' and an '.It Ic NAME' item per setting"
                            % (g, ", ".join(sorted(groups[g])), g))
            continue
        for name in sorted(groups[g] - doc[g]):
            problems.append("setting %s%s is accepted by the parser but not documented in "
                            "doc/gslbd.conf.5: add '.It Ic %s' to the list after '.\\\" group: %s'"
                            % ("" if g == "top" else g + ".", name, name, g))
    for g in sorted(doc):
        if g not in groups:
            problems.append("doc/gslbd.conf.5 documents a group %s the parser does not have" % g)
            continue
        for name in sorted(doc[g] - groups[g]):
            problems.append("doc/gslbd.conf.5 documents %s%s, which the parser does not accept"
                            % ("" if g == "top" else g + ".", name))
    total = sum(len(v) for v in groups.values())
    print("%d groups, %d settings found by %d runs of gslbd -t" % (len(groups), total, runs))
    for g in sorted(groups):
        print("  %s: %s" % (g, ", ".join(sorted(groups[g]))))
    if problems:
        for p in problems:
            print("FAIL: " + p)
        return 1
    print("PASS: every setting is in doc/gslbd.conf.5")
    return 0


if __name__ == "__main__":
    sys.exit(main())
