"""Every text the code marks for translation has a finished Chinese translation.

The source strings are English; locale/zh_Hans holds the Chinese for the ``django`` domain (Python and
templates) and the ``djangojs`` domain (static/js, served by the jsi18n/ JavaScript catalogue). English
pages use the msgids themselves (there is no locale/en).

The catalogues are refreshed with

    python manage.py makemessages -l zh_Hans -i "var/*" -i "bench/*"
    python manage.py makemessages -d djangojs -l zh_Hans -i "var/*" -i "bench/*" -i "static/js/vendor/*"
    python manage.py compilemessages

and the compiled .mo files are committed (the Docker image and the tests use them as they are).
The test runs the same makemessages against a copy of locale/, so a msgid added to the code without a
translation shows up as an empty (or fuzzy) entry there and fails the test.
"""

import ast
import gettext
import json
import re
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "locale"
LANG = "zh_Hans"
DOMAINS = ("django", "djangojs")
IGNORE = ["var/*", "bench/*", "static/js/vendor/*"]


def parse_po(path: Path) -> list[dict]:
    """The entries of a .po file: msgctxt, msgid, msgid_plural, msgstr (list), flags, obsolete."""
    entries, entry, field = [], None, None

    def finish():
        if entry is not None and "msgid" in entry:
            entries.append(entry)

    for raw in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        if not line:
            finish()
            entry, field = None, None
            continue
        if entry is None:
            entry = {"flags": set(), "msgstr": {}, "obsolete": False, "msgctxt": None}
        if line.startswith("#,"):
            entry["flags"].update(f.strip() for f in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            value = ast.literal_eval(line)
            if isinstance(field, tuple):
                entry["msgstr"][field[1]] += value
            else:
                entry[field] += value
        else:
            match = re.match(r"(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(\".*\")$", line)
            assert match, f"{path}: cannot read {raw!r}"
            keyword, index, value = match.group(1), match.group(2), ast.literal_eval(match.group(3))
            entry["obsolete"] = entry["obsolete"] or obsolete
            if keyword == "msgstr":
                field = ("msgstr", int(index or 0))
                entry["msgstr"][field[1]] = value
            else:
                field = keyword
                entry[keyword] = value
    return entries


def problems(entries: list[dict]) -> list[str]:
    """Entries that are untranslated: an empty msgstr, or marked fuzzy."""
    found = []
    for e in entries:
        if e["obsolete"] or e["msgid"] == "":
            continue
        label = (f"[{e['msgctxt']}] " if e["msgctxt"] else "") + repr(e["msgid"])
        if "fuzzy" in e["flags"]:
            found.append(f"fuzzy: {label}")
        elif not e["msgstr"] or any(not s for s in e["msgstr"].values()):
            found.append(f"empty: {label}")
    return found


def po_path(base: Path, domain: str) -> Path:
    return base / LANG / "LC_MESSAGES" / f"{domain}.po"


def test_po_parser_sees_empty_and_fuzzy(tmp_path):
    po = tmp_path / "x.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Done"\nmsgstr "完成"\n\n'
        '#, fuzzy\n#| msgid "Old"\nmsgid "New"\nmsgstr "旧"\n\n'
        'msgctxt "room"\nmsgid "Long "\n"text"\nmsgstr ""\n\n'
        '#~ msgid "Gone"\n#~ msgstr ""\n',
        encoding="utf-8",
    )
    entries = parse_po(po)
    assert [e["msgid"] for e in entries] == ["", "Done", "New", "Long text", "Gone"]
    assert problems(entries) == ["fuzzy: 'New'", "empty: [room] 'Long text'"]


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """Run makemessages for both domains on a copy of locale/ and return the refreshed .po paths.

    makemessages walks the current directory and writes into the nearest locale/ directory, so it runs
    in a scratch directory holding symlinks to the source folders and a copy of locale/.
    """
    import os

    from django.conf import settings

    work = tmp_path_factory.mktemp("makemessages")
    for child in ROOT.iterdir():
        if child.name.startswith(".") or child.name == "locale":
            continue
        (work / child.name).symlink_to(child)
    shutil.copytree(LOCALE, work / "locale")
    old_cwd, old_paths = os.getcwd(), settings.LOCALE_PATHS
    os.chdir(work)
    settings.LOCALE_PATHS = [work / "locale"]
    try:
        for domain in DOMAINS:
            call_command(
                "makemessages",
                locale=[LANG],
                domain=domain,
                ignore_patterns=IGNORE,
                symlinks=True,
                verbosity=0,
            )
    finally:
        os.chdir(old_cwd)
        settings.LOCALE_PATHS = old_paths
    return {domain: po_path(work / "locale", domain) for domain in DOMAINS}


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_extracted_msgid_is_translated(extracted, domain):
    entries = parse_po(extracted[domain])
    live = [e for e in entries if not e["obsolete"] and e["msgid"]]
    assert len(live) > 100, f"makemessages found only {len(live)} msgids for {domain}"
    missing = problems(entries)
    assert not missing, (
        f"{len(missing)} {domain} msgid(s) lack a Chinese translation in "
        f"{po_path(LOCALE, domain).relative_to(ROOT)} (run makemessages, translate, compilemessages):\n"
        + "\n".join(missing)
    )


@pytest.mark.parametrize("domain", DOMAINS)
def test_committed_po_is_complete_and_current(extracted, domain):
    """The committed .po holds exactly the live msgids that makemessages finds, all translated."""
    committed = parse_po(po_path(LOCALE, domain))
    assert not problems(committed)

    def keys(entries):
        return {(e["msgctxt"], e["msgid"]) for e in entries if not e["obsolete"] and e["msgid"]}

    fresh = keys(parse_po(extracted[domain]))
    assert keys(committed) >= fresh, (
        f"not in the committed {domain}.po: {sorted(fresh - keys(committed))}"
    )


@pytest.mark.parametrize("domain", DOMAINS)
def test_compiled_mo_matches_po(domain):
    """The committed .mo is compiled from the committed .po (compilemessages was run)."""
    po = po_path(LOCALE, domain)
    with open(po.with_suffix(".mo"), "rb") as fh:
        catalog = gettext.GNUTranslations(fh)._catalog
    for e in parse_po(po):
        if e["obsolete"] or not e["msgid"] or "fuzzy" in e["flags"]:
            continue
        key = f"{e['msgctxt']}\x04{e['msgid']}" if e["msgctxt"] else e["msgid"]
        if "msgid_plural" in e:
            for n, text in e["msgstr"].items():
                assert catalog.get((key, n)) == text, f"{domain}.mo is stale for {key!r}"
        else:
            assert catalog.get(key) == e["msgstr"][0], f"{domain}.mo is stale for {key!r}"


@pytest.mark.django_db
def test_javascript_catalogue_serves_chinese(client):
    """jsi18n/ (djangojs domain) carries the Chinese for the scripts; English pages get the msgids."""
    chinese = json.dumps("正在连接…")[1:-1]  # the catalogue is ASCII-escaped JSON
    zh = client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert zh.status_code == 200
    assert chinese in zh.content.decode()
    en = client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="en")
    assert chinese not in en.content.decode()
