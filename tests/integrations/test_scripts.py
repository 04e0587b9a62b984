"""Integration scripts (apps.integrations.scripts and its sandbox): a Jinja2 template maps the
incoming request to the message. Known sandbox escapes and resource bombs must end in a
ScriptError (never internals in the output, never a hang); normal payloads map to text,
alias, emoji and attachments. No database."""

from __future__ import annotations

from typing import Any

import pytest

from apps.integrations import scripts
from apps.integrations.scripts import ScriptError, sandbox, script_check, script_run

SLACK = {
    "text": "Deploy finished",
    "username": "ci-bot",
    "icon_emoji": ":rocket:",
    "attachments": [
        {
            "title": "Build #42",
            "title_link": "https://ci.example.com/builds/42",
            "text": "All <b>green</b> & fast",
            "color": "good",
        },
        {"title": "Build #43", "title_link": "https://ci.example.com/builds/43", "text": ""},
    ],
}

SLACK_SCRIPT = """{
  "text": {{ request.content.text|tojson }},
  "alias": {{ request.content.username|tojson }},
  "emoji": {{ request.content.icon_emoji|tojson }},
  "attachments": [
  {%- for a in request.content.attachments %}
    {"title": {{ a.title|tojson }}, "title_link": {{ a.title_link|tojson }},
     "text": {{ a.text|default('(none)', true)|tojson }}}{{ "," if not loop.last }}
  {%- endfor %}
  ]
}"""

GITLAB_PUSH = {
    "object_kind": "push",
    "ref": "refs/heads/main",
    "user_name": "Jane Doe",
    "project": {"name": "chatadmin", "web_url": "https://gitlab.example.com/acme/chatadmin"},
    "commits": [
        {
            "id": "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327",
            "message": "Fix the archived refusal\n\nLong body.",
            "url": "https://gitlab.example.com/acme/chatadmin/-/commit/b6568db1",
        },
        {
            "id": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
            "message": "Add scripts",
            "url": "https://gitlab.example.com/acme/chatadmin/-/commit/da156088",
        },
    ],
    "total_commits_count": 2,
}

GITLAB_SCRIPT = """{% set c = request.content %}
{% if request.headers['x-gitlab-event'] == 'Push Hook' %}
**{{ c.user_name }}** pushed {{ c.total_commits_count }} \
commit{{ 's' if c.total_commits_count != 1 }} to {{ c.ref.removeprefix('refs/heads/') }} \
of [{{ c.project.name }}]({{ c.project.web_url }})
{% for commit in c.commits %}
- [{{ commit.id[:8] }}]({{ commit.url }}) {{ commit.message.splitlines()[0] }}
{% endfor %}
{% else %}
Unknown event {{ request.headers['x-gitlab-event']|default('(none)') }}
{% endif %}"""


@pytest.fixture(autouse=True)
def _deadline_out_of_the_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """The step budget, not a loaded machine's clock, decides these tests (the deadline
    has its own test below)."""
    monkeypatch.setattr(sandbox, "MAX_SECONDS", 60.0)


def run(script: str, content: Any = None, **request: Any) -> dict[str, Any]:
    return script_run(script, request={"content": content, **request})


def error_of(script: str, content: Any = None, **request: Any) -> str:
    with pytest.raises(ScriptError) as caught:
        run(script, content, **request)
    return str(caught.value)


# --- normal scripts --------------------------------------------------------------------


def test_it_maps_a_slack_payload_to_text_alias_emoji_and_attachments():
    assert run(SLACK_SCRIPT, SLACK) == {
        "text": "Deploy finished",
        "alias": "ci-bot",
        "emoji": ":rocket:",
        "attachments": [
            {
                "title": "Build #42",
                "title_link": "https://ci.example.com/builds/42",
                "text": "All <b>green</b> & fast",
            },
            {
                "title": "Build #43",
                "title_link": "https://ci.example.com/builds/43",
                "text": "(none)",
            },
        ],
    }


def test_it_maps_a_gitlab_push_to_markdown_text_using_the_event_header():
    made = run(GITLAB_SCRIPT, GITLAB_PUSH, headers={"X-Gitlab-Event": "Push Hook"})

    assert made == {
        "text": "**Jane Doe** pushed 2 commits to main of "
        "[chatadmin](https://gitlab.example.com/acme/chatadmin)\n"
        "- [b6568db1](https://gitlab.example.com/acme/chatadmin/-/commit/b6568db1) "
        "Fix the archived refusal\n"
        "- [da156088](https://gitlab.example.com/acme/chatadmin/-/commit/da156088) Add scripts"
    }


def test_it_takes_another_branch_for_another_event():
    made = run(GITLAB_SCRIPT, GITLAB_PUSH, headers={"X-Gitlab-Event": "Tag Push Hook"})

    assert made == {"text": "Unknown event Tag Push Hook"}


def test_plain_text_output_is_the_whole_output_stripped():
    assert run("\n  Hello {{ request.content.name }}!  \n\n", {"name": "Ann"}) == {
        "text": "Hello Ann!"
    }


def test_headers_are_lowercased_and_query_parameters_are_available():
    made = run(
        "{{ request.headers['x-token-hint'] }} {{ request.query.page }} {{ request.query|length }}",
        headers={"X-Token-Hint": "abc"},
        query={"page": "2", "q": "x"},
    )

    assert made == {"text": "abc 2 2"}


def test_content_may_be_a_list_a_string_or_a_number():
    assert run("{{ request.content|join('+') }}", ["a", "b"]) == {"text": "a+b"}
    assert run("{{ request.content|upper }}", "shout") == {"text": "SHOUT"}
    assert run("{{ request.content * 2 }}", 21) == {"text": "42"}


def test_payload_keys_win_over_dict_methods():
    content = {"items": ["a", "b"], "values": 3, "keys": "k"}

    made = run("{{ request.content.items|join(',') }} {{ request.content.values }}", content)

    assert made == {"text": "a,b 3"}


def test_missing_values_render_empty_and_default_fills_them():
    made = run(
        "[{{ request.content.missing.deeper }}] {{ request.content.none }}"
        " {{ request.content.missing|default('n/a') }}",
        {"none": None},
    )

    assert made == {"text": "[]  n/a"}


def test_loops_namespaces_macros_and_loop_controls_work():
    script = """
{%- macro item(n) %}<{{ n }}>{% endmacro -%}
{%- set ns = namespace(total=0) -%}
{%- for n in request.content if n is odd -%}
  {%- if n > 7 %}{% break %}{% endif -%}
  {%- set ns.total = ns.total + n -%}
  {{ item(n) }}{{ loop.cycle('a', 'b') }}
{%- endfor %} total={{ ns.total }}"""

    assert run(script, [1, 2, 3, 5, 9, 11]) == {"text": "<1>a<3>b<5>a total=9"}


def test_common_filters_and_methods_work():
    content = {"users": [{"name": "bob", "age": 30}, {"name": "al", "age": 25}], "s": " a,b "}
    script = (
        "{{ request.content.users|sort(attribute='age')|map(attribute='name')|join(',') }}"
        "|{{ request.content.users|selectattr('age', 'gt', 26)|map(attribute='name')|list }}"
        "|{{ request.content.s.strip().split(',') }}"
        "|{{ '{:>5}|{:.2f}'.format('x', 3.14159) }}"
        "|{{ request.content.users|map(attribute='age')|sum }}"
        "|{{ 'Hello World'|replace('World', 'There')|truncate(5, true, '…', 0) }}"
        "|{{ {'b': 1, 'a': 2}|dictsort|first }}"
        "|{{ request.content.get('nope', 'fallback') }}"
    )

    assert run(script, content) == {
        "text": "al,bob|['bob']|['a', 'b']|    x|3.14|55|Hell…|('a', 2)|fallback"
    }


def test_tojson_keeps_unicode_and_html_characters():
    made = run('{"text": {{ request.content|tojson }}}', "Grüße <b> & 'x'")

    assert made == {"text": "Grüße <b> & 'x'"}


def test_null_fields_of_json_output_are_absent():
    made = run('{"text": "hi", "alias": {{ request.content.alias|tojson }}, "emoji": null}')

    assert made == {"text": "hi"}


def test_attachments_alone_make_a_message():
    made = run('{"attachments": [{"title": "t"}]}')

    assert made == {"attachments": [{"title": "t"}]}


@pytest.mark.parametrize(
    "output",
    [
        "[1, 2]",  # JSON, but not an object
        '"quoted"',
        "{not json}",
        "{{ '{' }}\"text\": 1",
    ],
)
def test_output_that_is_not_a_json_object_is_text(output: str):
    made = run(output)

    assert list(made) == ["text"]
    assert made["text"] == made["text"].strip() != ""


@pytest.mark.parametrize(
    "output",
    ["", "   \n ", "{{ '' }}", "{}", '{"alias": "a"}', '{"text": " "}', '{"attachments": []}'],
)
def test_an_empty_result_is_no_message(output: str):
    assert error_of(output) == "the script produced no message"


def test_an_unknown_output_field_is_an_error():
    assert "unknown field 'channel'" in error_of('{"text": "x", "channel": "#general"}')


@pytest.mark.parametrize(
    ("output", "error"),
    [
        ('{"text": 1}', "text must be a string"),
        ('{"text": "x", "alias": ["a"]}', "alias must be a string"),
        ('{"text": "x", "emoji": {}}', "emoji must be a string"),
        ('{"attachments": {"title": "t"}}', "attachments must be a list of objects"),
        ('{"attachments": ["t"]}', "attachments must be a list of objects"),
    ],
)
def test_output_field_types_are_checked(output: str, error: str):
    assert error_of(output) == error


def test_each_run_has_its_own_budget():
    script = "{% for i in range(10000) %}{% for j in range(6) %}{% endfor %}{% endfor %}ok"

    assert run(script) == {"text": "ok"}  # 70,000 steps
    assert run(script) == {"text": "ok"}  # as many again: not carried over


def test_a_script_is_compiled_once():
    scripts._compile.cache_clear()
    script = "cached {{ request.content }}"

    run(script, 1)
    run(script, 2)
    script_check(script)

    assert scripts._compile.cache_info().misses == 1


# --- script_check ----------------------------------------------------------------------


def test_check_accepts_a_script_that_compiles():
    assert script_check(SLACK_SCRIPT) is None
    assert script_check(GITLAB_SCRIPT) is None


@pytest.mark.parametrize(
    ("script", "error"),
    [
        ("ok\n{{ x }", "line 2: unexpected '}'"),
        ("a\nb\n{% if %}{% endif %}", "line 3: Expected an expression"),
        ("\n{% for x in y %}", "line 2: Unexpected end of template"),
        ("{{ x|nope }}", "line 1: No filter named 'nope'."),
        ("\n\n{{ x is nope }}", "line 3: No test named 'nope'."),
        ("{{ x|attr('y') }}", "line 1: No filter named 'attr'."),
        ("{{ '%s'|format(x) }}", "line 1: No filter named 'format'."),
        ("x\n{% block b %}{% endblock %}", "line 2: {% block %} is not available in scripts"),
        ("{% extends 'base' %}", "line 1: {% extends %} is not available in scripts"),
        ("{% include 'x' %}", "line 1: {% include %} is not available in scripts"),
        ("{% import 'x' as y %}", "line 1: {% import %} is not available in scripts"),
        ("{% from 'x' import y %}", "line 1: {% from %} is not available in scripts"),
    ],
)
def test_check_reports_compile_errors_with_their_line(script: str, error: str):
    assert script_check(script).startswith(error)


def test_run_of_a_script_that_does_not_compile_fails_with_the_check_text():
    assert error_of("ok\n{{ x }") == script_check("ok\n{{ x }")


@pytest.mark.parametrize(
    "script",
    [
        "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}",
        "{{ " + "[" * 100_000 + " }}",
        "{{ x" + ".a" * 300 + " }}",
        "{{ 1" + "|abs" * 3000 + " }}",
        "{% for x in y %}" * 100 + "{% endfor %}" * 100,
        "{% if x %}" * 40 + "{% endif %}" * 40,
    ],
)
def test_check_of_deeply_nested_scripts_is_an_error_not_a_crash(script: str):
    assert script_check(script)


def test_a_runtime_error_names_the_script_line():
    assert error_of("one\ntwo\n{{ 1 / 0 }}") == "line 3: division by zero"
    assert (
        error_of("{{ request.content.x + 1 }}", {}) == "line 1: 'dict object' has no attribute 'x'"
    )


# --- sandbox escapes -------------------------------------------------------------------

ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ request.__class__ }}",
    "{{ request['__class__'] }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ lipsum.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ self._TemplateReference__context }}",
    "{{ self.__init__.__globals__ }}",
    "{{ config }}",
    "{{ config.items() }}",
    "{{ settings.SECRET_KEY }}",
    "{{ ''.format.__globals__ }}",
    "{% for x in ().__class__.__base__.__subclasses__() %}{{ x }}{% endfor %}",
    "{{ request|attr('__class__') }}",
    "{{ '{0.__class__}'.format(request) }}",
    "{{ '{0[__class__]}'.format(request) }}",
    "{{ '{0.get.__self__}'.format(request) }}",
    "{{ '{0.__class__.__init__.__globals__}'.format(request) }}",
    "{{ '{!r}'.format(range) }}",
    "{{ 'x'.format_map(request) }}{{ '{__class__}'.format_map(request) }}",
    '{{ "%s"|format(request) }}',
    '{{ "%s" % request }}',
    '{{ "%(content)s" % request }}',
    "{{ request.content.get.__self__ }}",
    "{{ request.content.text.upper.__self__ }}",
    "{{ range.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ dict.__class__ }}",
    "{{ (1).__class__.__subclasses__() }}",
    "{{ request.content.__len__() }}",
    "{% for x in [1] %}{{ loop.__class__ }}{% endfor %}",
    "{% for x in [1] %}{{ loop._after }}{% endfor %}",
    "{% set ns = namespace() %}{{ ns._Namespace__attrs }}",
    "{% macro m() %}{% endmacro %}{{ m._environment }}",
    "{% macro m() %}{% endmacro %}{{ m.arguments }}",
    "{{ request.content|map(attribute='__class__')|list }}",
    "{{ request.content|selectattr('__class__')|list }}",
    "{{ request.content|sort(attribute='__class__') }}",
    "{{ request.content.list.append(1) }}",
    "{{ request.content.update({'a': 1}) }}",
    "{{ request.content.pop('text') }}",
    "{{ request.content.list.sort() }}",
    "{{ 'x'.encode() }}",
    "{{ 'x'.join(['a']) }}",
    "{{ range }}",
    "{{ namespace }}",
    "{{ request.content.keys }}",
    "{{ request.content.list|map('upper') }}",
    "{{ [range] }}",
    "{{ [request.content.get]|tojson }}",
    "{{ range(3) }}",
    "{{ self }}",
    "{{ 'a' ~ range }}",
]


@pytest.mark.parametrize("script", ESCAPES)
def test_sandbox_escapes_end_in_a_script_error_without_internals(script: str):
    error = error_of(script, {"text": "t", "list": ["b", "a"]})

    assert "0x" not in error and "<" not in error and "import" not in error


# --- resource bombs --------------------------------------------------------------------

SHARED = "{% set a = ['x', 'x'] %}{% set b = ['x'|upper, 'x'|upper] %}" + (
    "{% set a = [a, a] %}{% set b = [b, b] %}" * 40
)
DEEP = "{% set ns = namespace(x=1) %}{% for i in range(5000) %}{% set ns.x = (ns.x,) %}{% endfor %}"
FAN_OUT = (
    "{% macro a0() %}x{% endmacro %}"
    + "".join(
        f"{{% macro a{i}() %}}{{{{ a{i - 1}() }}}}{{{{ a{i - 1}() }}}}{{% endmacro %}}"
        for i in range(1, 19)
    )
    + "{{ a18()|length }}"
)

BOMBS = [
    # sizes of strings, lists and integers
    ("{{ 'a' * 100000000 }}", "a repetition would make more than 65536 characters"),
    ("{{ 100000000 * 'a' }}", "a repetition would make more than 65536 characters"),
    ("{{ [1] * 10**8 }}", "a repetition would make more than 10000 items"),
    ("{{ [0] * 6000 + [0] * 6000 }}", "a sum would make more than 10000 items"),
    ("{{ 'x' * 40000 + 'x' * 40000 }}", "a sum would make more than 65536 characters"),
    ("{% set a = 'x' * 60000 %}{{ a ~ a }}", "more than 65536 characters"),
    ("{{ range(10**9)|list }}", "a range may have at most 10000 items"),
    ("{% for i in range(10**8) %}x{% endfor %}", "a range may have at most 10000 items"),
    ("{{ range(0, 10**30, 1) }}", "a range may have at most 10000 items"),
    ("{{ 9**(9**9) }}", "more than 4096 bits"),
    ("{{ 2**(10**8) }}", "more than 4096 bits"),
    ("{{ (10**1000) * (10**1000) * (10**1000) * (10**1000) * (10**1000) }}", "4096 bits"),
    ("{{ ('f' * 60000)|int(base=16) }}", "more than 4096 bits"),
    ("{{ 5|round(-10**9) }}", "precision of at most 100"),
    ("{{ 2.0 ** 100000 }}", "out of range"),
    # formatting
    ("{{ '{:>1000000000}'.format(1) }}", "widths and precisions are at most 100"),
    ("{{ '{0:{1}}'.format(1, '>99999999') }}", "widths and precisions are at most 100"),
    ("{{ '{:.999999f}'.format(1.5) }}", "widths and precisions are at most 100"),
    ("{{ ('{0}' * 20000).format('x' * 100) }}", "more than 65536 characters"),
    ("{{ ('a' * 60000)|replace('a', 'bb') }}", "more than 65536 characters"),
    ("{{ ('a' * 60000).replace('a', 'bb') }}", "more than 65536 characters"),
    ("{{ 'abc'|replace('', 'x' * 30000) }}", "more than 65536 characters"),
    ("{{ range(10000)|join('x' * 100) }}", "more than 65536 characters"),
    # the filters and methods that are not there
    ("{{ 'x'.ljust(10**9) }}", "can't be called in a script"),
    ("{{ 'x'.zfill(10**9) }}", "can't be called in a script"),
    ("{{ 'x'.center(10**9) }}", "can't be called in a script"),
    ("{{ 'x'|center(10**9) }}", "No filter named 'center'"),
    ("{{ 'x\ny'|indent(10**9) }}", "No filter named 'indent'"),
    ("{{ [1]|batch(10**9, 0)|list }}", "No filter named 'batch'"),
    ("{{ [[1] * 1000] * 1000|sum(start=[]) }}", "sum adds numbers only"),
    # loops, calls and recursion
    ("{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}x", "steps"),
    ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "nested more than 20 deep"),
    (
        "{% macro a() %}{{ b() }}{% endmacro %}{% macro b() %}{{ a() }}{% endmacro %}{{ a() }}",
        "nested more than 20 deep",
    ),
    (
        "{% macro m() %}{{ caller() }}{% endmacro %}"
        "{% macro r() %}{% call m() %}{{ r() }}{% endcall %}{% endmacro %}{{ r() }}",
        "nested more than 20 deep",
    ),
    ("{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}", "nested more than 20 deep"),
    (FAN_OUT, "steps"),
    ("{{ range(10000)" + "|map('abs')" * 100 + "|list|length }}", "steps"),
    ("{% set a = range(10000)|list %}{{ a" + "|sort" * 100 + "|length }}", "steps"),
    # what macros, blocks and the output write
    (
        "{% macro m() %}{% for i in range(10000) %}{{ 'y' * 60000 }}{% endfor %}{% endmacro %}"
        "{{ m()|length }}",
        "wrote more than 1048576 characters",
    ),
    (
        "{% set x %}{% for i in range(10000) %}{{ 'y' * 60000 }}{% endfor %}{% endset %}",
        "wrote more than 1048576 characters",
    ),
    ("{% for i in range(10000) %}{{ 'y' * 60 }}{% endfor %}", "wrote more than 65536"),
    # values shared or nested so that walking them explodes
    (SHARED + "{{ a }}", "too big"),
    (SHARED + "{{ a|tojson }}", "too big"),
    (SHARED + "{{ a|string|length }}", "too big"),
    (SHARED + "{{ a == b }}", "steps"),
    (SHARED + "{{ a in [b] }}", "steps"),
    (SHARED + "{{ [a, b]|unique|list }}", "steps"),
    (SHARED + "{{ request.content.get(a) }}", "steps"),
    (DEEP + "{{ ns.x }}", "nested more than 100 levels deep"),
    (DEEP + "{{ {}.get(ns.x) }}", "nested more than 100 levels deep"),
    (DEEP + "{{ ns.x in {} }}", "nested more than 100 levels deep"),
    (DEEP + "{{ request[ns.x] }}", "nested more than 100 levels deep"),
    (DEEP + "{{ {ns.x: 1} }}", "dict keys must be strings or numbers"),
]


@pytest.mark.parametrize(("script", "error"), BOMBS)
def test_resource_bombs_end_in_a_script_error(script: str, error: str):
    assert error in error_of(script, {})


def test_the_deadline_is_checked_inside_the_render(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(sandbox, "MAX_SECONDS", -1.0)  # already past when the run starts

    assert "ran longer than" in error_of("{% for i in range(3) %}{% endfor %}x")
