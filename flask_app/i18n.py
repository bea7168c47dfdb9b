"""The pages' language: Chinese by default, English as a switch (Flask-Babel, the ecosystem's convention).

* **Labels** in the templates are ``{{ _("中文") }}`` with the Chinese text as the msgid; the English catalog is
  ``flask_app/translations/en/LC_MESSAGES/messages.po`` (compiled to ``messages.mo`` beside it, both shipped as
  package data).  Chinese needs no catalog: a msgid is its own Chinese text.  After changing a label, from the
  project's root (``babel.cfg`` names the files; ``pgettext("上下文", "词")`` where one word has two meanings)::

      pybabel extract -F babel.cfg --no-location --sort-output -o messages.pot .
      pybabel update -i messages.pot -d flask_app/translations -l en --no-fuzzy-matching --ignore-obsolete
      # write the English of each new msgid into messages.po, then
      pybabel compile -d flask_app/translations && rm messages.pot

  (``tests/test_i18n.py`` fails while a template's msgid has no English or the ``.mo`` lags the ``.po``).
* **The locale** is the ``relief_lang`` cookie set by the header's 中文 / EN switch (``/lang/<code>``, open to
  everyone, also before logging in): ``zh`` (default, ``zh_CN``) or ``en``.  The browser's Accept-Language is
  not consulted: a clerk's phone set to English still gets the county's Chinese pages until they switch.
* **Bilingual messages** from the services keep the project's convention ``"中文 / English"`` (the CLI and the
  API show them whole).  On a page, flashes and error pages pass through :func:`pick_language`, which keeps the
  half in the chosen language (the Jinja filter ``one_language``).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from babel import support
from flask import Blueprint, Flask, has_request_context, redirect, request
from flask_babel import Babel

from flask_app.sessions import safe_next

#: locale code of the switch → Babel locale; the first is the default
LOCALES: dict[str, str] = {"zh": "zh_CN", "en": "en"}
DEFAULT = "zh"
COOKIE = "relief_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600  # seconds: a year, so the choice outlives logging out
SEPARATOR = " / "
#: where a middle piece's English tail ends and the next message's Chinese head begins: the last of these
#: before its first Chinese character (``"nothing was changed: 第 3 行"`` → ``"nothing was changed"``, ``": "``)
JOINERS = (": ", "; ", " — ", ", ", "：", "；")
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
_LATIN = re.compile(r"[A-Za-z]")

bp = Blueprint("i18n", __name__)


def locale_code() -> str:
    """``zh`` or ``en``: the cookie's choice when it names a known locale, else the default."""
    cookies = request.cookies
    chosen = cookies[COOKIE] if COOKIE in cookies else DEFAULT  # noqa: SIM401 - get() of a missing key raises inside
    return chosen if chosen in LOCALES else DEFAULT


def _select_locale() -> str:
    return LOCALES[locale_code()]


def _split_middle(piece: str) -> tuple[str, str, str] | None:
    """A piece between two separators → (English tail, joiner, Chinese head); None when it has no Chinese."""
    first = _CJK.search(piece)
    if first is None:
        return None
    mark = piece[first.start()]
    if mark in OPENING_MARKS:  # "… 0 withdrawn；已保存映射方案": the Chinese clause opens with its own mark
        return piece[:first.start()].rstrip(), OPENING_MARKS[mark], piece[first.start() + 1:]
    cut, joiner = max(((piece.rfind(j, 0, first.start()), j) for j in JOINERS), key=lambda t: t[0])
    if cut < 0:
        return piece[:first.start()].rstrip(), " ", piece[first.start():]
    return piece[:cut].rstrip(), joiner, piece[cut + len(joiner):].lstrip()


def halves(text: str) -> tuple[str, str] | None:
    """The Chinese and the English of a bilingual message, or None when it does not follow the convention.

    One message: ``"中文 / English"``.  A message with another appended (a view's prefix and a service's
    error) reads ``"前缀 / prefix: 原因 / reason"``: every piece between two separators holds one message's
    English and the next one's Chinese, cut at the last joiner (``": "``, ``"; "``, ``" — "``, ``", "``)
    before its first Chinese character; the halves are joined by the same joiner (full-width in Chinese).

    >>> halves("请选择文件 / choose a file to upload")
    ('请选择文件', 'choose a file to upload')
    >>> halves("导入被拒绝，未做任何更改 / import refused, nothing was changed: 第 3 行身份证号无效 / line 3: bad ID")
    ('导入被拒绝，未做任何更改：第 3 行身份证号无效', 'import refused, nothing was changed: line 3: bad ID')
    >>> halves("第 2 / 5 页") is None  # a fraction, not two languages
    True
    """
    pieces = text.split(SEPARATOR)
    if len(pieces) < 2:
        return None
    zh, en = [pieces[0]], []
    for piece in pieces[1:-1]:
        split = _split_middle(piece)
        if split is None:
            return None
        tail, joiner, head = split
        en.append(tail + joiner)
        zh.append(FULL_WIDTH.get(joiner, joiner) + head)
    en.append(pieces[-1])
    zh_text, en_text = "".join(zh), "".join(en)
    if zh_text.count("（") > zh_text.count("）"):  # a clause opened by （ closed at the end of its English
        zh_text, en_text = zh_text + "）", en_text.replace("）", ")")
    if not _CJK.search(pieces[0]) or not all(_LATIN.search(p) for p in en) or _CJK.match(en_text):
        return None
    return zh_text, en_text


FULL_WIDTH = {": ": "：", "; ": "；", ", ": "，", " (": "（"}
#: a full-width mark opening the next message's Chinese → the English joiner it stands for
OPENING_MARKS = {chinese: english for english, chinese in FULL_WIDTH.items()}


def pick_language(text: object, code: str | None = None) -> str:
    """The half of a bilingual ``"中文 / English"`` message in the page's language (``code``: ``zh``/``en``,
    default the request's); text that is not bilingual comes back as it is.

    >>> pick_language("已张贴公示 3 / notice 3 posted", "en")
    'notice 3 posted'
    >>> pick_language("已张贴公示 3 / notice 3 posted", "zh")
    '已张贴公示 3'
    """
    text = str(text)
    both = halves(text)
    if both is None:
        return text
    return both[1] if (code or _page_code()) == "en" else both[0]


@bp.get("/lang/<code>")
def switch(code: str):  # noqa: ANN201
    """Set the pages' language (``zh`` or ``en``; anything else → the default) and go back where the user was."""
    response = redirect(safe_next(request.args.get("next"), "/"))
    response.set_cookie(COOKIE, code if code in LOCALES else DEFAULT, max_age=COOKIE_MAX_AGE, samesite="Lax",
                        httponly=True, secure=request.is_secure)
    return response


def _page_code() -> str:
    """The page's language code: the request's (:func:`locale_code`), the default outside a request."""
    return locale_code() if has_request_context() else DEFAULT


@cache
def _english() -> support.Translations:
    """The English catalog (``translations/en``), read once per process."""
    return support.Translations.load(str(Path(__file__).with_name("translations")), ["en"])


def _page_gettext(msgid: str) -> str:
    """A template's ``_("中文")``: the msgid itself on a Chinese page, its English from the catalog on an English one.

    >>> _page_gettext("退出")  # outside a request: the default language, Chinese
    '退出'
    """
    return _english().ugettext(msgid) if _page_code() == "en" else msgid


def init_app(app: Flask) -> None:
    """Babel with the cookie's locale, the ``one_language`` filter, the switch's route and the page's language."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", LOCALES[DEFAULT])
    Babel(app, locale_selector=_select_locale)
    # Flask-Babel's callables look the locale and the catalog up through three context locals on every call: a
    # queue page calls ``_`` about 400 times (labels inside the rows), which cost ~10 ms of a 20 ms page in
    # ``benchmarks/load.py``.  A Chinese page needs no catalog at all (a msgid is its Chinese), and the English
    # catalog is loaded once; Jinja's newstyle gettext still does the ``%(name)s`` formatting and escaping.
    app.jinja_env.install_gettext_callables(
        gettext=_page_gettext,
        ngettext=lambda s, p, n: _english().ungettext(s, p, n) if _page_code() == "en" else (s if n == 1 else p),
        # one Chinese word, two meanings: pgettext("严重程度", "提示") is a severity, _("提示") a claim's flags
        pgettext=lambda c, s: _english().upgettext(c, s) if _page_code() == "en" else s,
        newstyle=True)
    app.jinja_env.filters["one_language"] = pick_language
    app.register_blueprint(bp)

    @app.context_processor
    def _language() -> dict:
        code = _page_code()
        return {"lang_code": code, "html_lang": "en" if code == "en" else "zh-CN",
                "other_lang": "zh" if code == "en" else "en"}
