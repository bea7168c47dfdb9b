"""Issue 15, item 4: pages in Chinese by default, English by the header's switch (Flask-Babel).

The catalog is complete and compiled: every msgid in the templates and the Python of ``flask_app`` has an English
translation with the same placeholders, and ``messages.mo`` holds exactly what ``messages.po`` says.  The pages
(test client, the tiny roster of tests/test_pages_claims.py) are Chinese without the English halves by default,
English after ``/lang/en``, and bilingual flashes show the chosen half.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from test_pages_claims import MARCH, app, login, medical_bytes, upload  # noqa: F401 - fixture

from flask_app.i18n import COOKIE, halves, pick_language

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "flask_app" / "translations" / "en" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
CJK = re.compile(r"[\u3400-\u9fff]")
#: Chinese words an English label quotes on purpose: the headers a bank return file must have
QUOTED = ("理赔编号", "状态", "成功", "失败", "原因")


def _msgids() -> set[tuple[str | None, str]]:
    """(context, msgid) of every message the pages translate."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found = set()
    for _filename, _lineno, message, _comments, context in extract_from_dir(ROOT / "flask_app", [
            (pattern.removeprefix("flask_app/"), method) for pattern, method in method_map], options_map):
        found.add((context, message if isinstance(message, str) else message[0]))
    return found


def _po() -> dict[tuple[str | None, str], str]:
    with (CATALOG / "messages.po").open("rb") as f:
        return {(m.context, m.id): m.string for m in read_po(f) if m.id}


def test_every_msgid_of_the_pages_has_its_english():
    msgids, po = _msgids(), _po()
    assert len(msgids) > 150  # the templates' labels and the navigation
    assert sorted(msgids - po.keys()) == [], "run the pybabel commands of flask_app/i18n.py"
    untranslated = sorted(m for m in msgids if not po[m].strip())
    assert untranslated == []
    for key in msgids:
        english, msgid = po[key], key[1]
        assert set(PLACEHOLDER.findall(english)) == set(PLACEHOLDER.findall(msgid)), msgid
        assert not CJK.search(re.sub("|".join(QUOTED), "", english)), (msgid, english)


def test_the_compiled_catalog_is_the_po():
    with (CATALOG / "messages.mo").open("rb") as f:
        compiled = {(m.context, m.id): m.string for m in read_mo(f) if m.id}
    assert compiled == _po(), "messages.mo lags messages.po: pybabel compile -d flask_app/translations"


def test_a_bilingual_message_splits_into_its_halves():
    assert halves("请选择理赔 / choose a claim") == ("请选择理赔", "choose a claim")
    # a view's prefix with a service's message appended: two messages, each language joined by its joiner
    assert halves("未做任何更改 / nothing was changed: 村 130434100200 不在您的范围内 / village 130434100200 is "
                  "outside your scope") == ("未做任何更改：村 130434100200 不在您的范围内",
                                            "nothing was changed: village 130434100200 is outside your scope")
    # the next message opening with its own full-width mark (flask_app/views/imports.py, a profile saved)
    assert halves("导入完成：新建理赔 1 笔 / imported: 1 claim(s) created, 0 withdrawn；已保存映射方案“甲” / mapping "
                  "profile '甲' saved") == ("导入完成：新建理赔 1 笔；已保存映射方案“甲”",
                                            "imported: 1 claim(s) created, 0 withdrawn; mapping profile '甲' saved")
    assert halves("更新 0 笔 / 0 updated（按映射方案“甲”读取列 / columns read with profile '甲'）") == (
        "更新 0 笔（按映射方案“甲”读取列）", "0 updated (columns read with profile '甲')")
    assert pick_language("请选择理赔 / choose a claim", "en") == "choose a claim"
    assert pick_language("只有中文的提示", "en") == "只有中文的提示"  # not bilingual: shown as it is
    assert pick_language("第 1 / 3 页", "en") == "第 1 / 3 页"  # a fraction is not two languages
    assert pick_language("a / b", "zh") == "a / b"  # no Chinese half


def _flash_texts() -> list[str]:
    """The literal text of every ``flash(...)`` in the views, each ``{...}`` replaced by a bilingual sample."""
    texts = []
    for path in (ROOT / "flask_app" / "views").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "flash" and node.args):
                continue
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                texts.append(arg.value)
            elif isinstance(arg, ast.JoinedStr):
                texts.append("".join(v.value if isinstance(v, ast.Constant) else "7" for v in arg.values))
    return texts


def test_every_bilingual_flash_of_the_views_has_two_clean_halves():
    texts = [t for t in _flash_texts() if " / " in t]
    assert len(texts) > 30
    for text in texts:
        both = halves(text)
        assert both is not None, text
        zh, en = both
        assert CJK.search(zh) and not CJK.search(en.replace("“7”", "")), (text, both)


def test_pages_are_chinese_by_default_and_english_after_the_switch(app):  # noqa: F811
    client = login(app, "clerk")
    page = client.get("/claims").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and "理赔列表" in page and "筛选" in page
    assert ">Filter<" not in page and "Log out" not in page  # no English halves beside the Chinese

    r = client.get("/lang/en?next=/claims")
    assert r.status_code == 302 and r.headers["Location"] == "/claims"
    assert f"{COOKIE}=en" in r.headers["Set-Cookie"]
    page = client.get("/claims").get_data(as_text=True)
    assert '<html lang="en">' in page and ">Filter<" in page and "Log out" in page
    assert "理赔列表" not in page and ">筛选<" not in page
    assert 'id="lang-switch"' in page and "/lang/zh" in page

    client.get("/lang/zh")
    assert "理赔列表" in client.get("/claims").get_data(as_text=True)


def test_a_flash_shows_the_half_in_the_chosen_language(app):  # noqa: F811
    client = login(app, "ins")
    assert upload(client, medical_bytes(MARCH)).status_code == 200
    again = upload(client, medical_bytes(MARCH), name="copy.csv").get_data(as_text=True)
    assert "已导入过" in again and "already imported" not in again
    client.get("/lang/en")
    again = upload(client, medical_bytes(MARCH), name="copy2.csv").get_data(as_text=True)
    assert "already imported" in again and "已导入过" not in again


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil"])
def test_the_switch_goes_back_only_within_the_site(app, target):  # noqa: F811
    r = app.test_client().get("/lang/en", query_string={"next": target})
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_an_unknown_language_falls_back_to_chinese_and_the_login_page_switches_too(app):  # noqa: F811
    client = app.test_client()
    assert f"{COOKIE}=zh" in client.get("/lang/xx").headers["Set-Cookie"]
    client.get("/lang/en")
    page = client.get("/login").get_data(as_text=True)
    assert "Username" in page and "用户名" not in page


def test_the_favicon_answers_at_the_root_and_is_linked(app):  # noqa: F811
    client = app.test_client()
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.data[:4] == b"\x00\x00\x01\x00"  # the ICO header: reserved 0, type 1
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    page = client.get("/login").get_data(as_text=True)
    assert 'rel="icon" href="/static/favicon.svg"' in page and 'href="/favicon.ico"' in page
