package dev.spindle.chat.jinja;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The Jinja language as Python's Jinja2 renders it with Hugging Face's settings; expected outputs are Jinja2's. */
class TemplateTest {

    static String render(String source, Map<String, Object> vars) {
        return Template.parse(source).render(vars);
    }

    static String render(String source) {
        return render(source, Map.of());
    }

    @Test
    void blockTagsTakeTheirLineWithThem() {
        // trim_blocks drops the newline after a block tag; lstrip_blocks the indentation before it.
        assertEquals("  x\ny", render("{% if true %}\n  x\n  {% endif %}\ny"));
        assertEquals("a\nb", render("a\n    {% if true %}\nb{% endif %}"));
        assertEquals("ab", render("a {%- if true -%} b {%- endif %}"));
        assertEquals("a b", render("a {{- ' ' -}}   b"));
        assertEquals("x", render("x\n"), "one trailing newline is dropped");
    }

    @Test
    void expressionsFollowPythonPrecedence() {
        assertEquals("7", render("{{ 1 + 2 * 3 }}"));
        assertEquals("2", render("{{ [1, 2, 3] | length - 1 }}"));
        assertEquals("3", render("{{ 7 // 2 }}"));
        assertEquals("3.5", render("{{ 7 / 2 }}"));
        assertEquals("1", render("{{ -7 % 4 }}"));
        assertEquals("ab1", render("{{ 'a' ~ 'b' ~ 1 }}"));
        assertEquals("True", render("{{ 1 < 2 <= 2 }}"));
        assertEquals("no", render("{{ 'yes' if false else 'no' }}"));
        assertEquals("", render("{{ 'yes' if false }}"));
        assertEquals("True False", render("{{ 'b' in 'abc' }} {{ 2 not in [1, 2] }}"));
        assertEquals("x", render("{{ none or 'x' }}"));
    }

    @Test
    void valuesPrintAsPythonStrPrintsThem() {
        assertEquals(
                "None True 1.0 [1, 'a'] {'k': 'v'}",
                render("{{ none }} {{ true }} {{ 1.0 }} {{ [1, 'a'] }} {{ {'k': 'v'} }}"));
        assertEquals("", render("{{ missing }}"));
    }

    @Test
    void slicesAndIndices() {
        Map<String, Object> vars = Map.of("xs", List.of(1L, 2L, 3L, 4L));
        assertEquals("[4, 3, 2, 1]", render("{{ xs[::-1] }}", vars));
        assertEquals("[2, 3]", render("{{ xs[1:3] }}", vars));
        assertEquals("4", render("{{ xs[-1] }}", vars));
        assertEquals("cba", render("{{ 'abc'[::-1] }}"));
    }

    @Test
    void loopsHaveTheirVariablesAndTheirOwnScope() {
        assertEquals(
                "1a0F 2b1F 3c2T",
                render("{% for x in ['a','b','c'] %}{{ loop.index }}{{ x }}{{ loop.index0 }}"
                        + "{{ 'T' if loop.last else 'F' }}{{ ' ' if not loop.last }}{% endfor %}"));
        assertEquals("0", render("{% set n = 0 %}{% for x in [1, 2] %}{% set n = n + x %}{% endfor %}{{ n }}"));
        assertEquals(
                "3",
                render(
                        "{% set ns = namespace(n=0) %}{% for x in [1, 2] %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }}"));
        assertEquals("empty", render("{% for x in [] %}{{ x }}{% else %}empty{% endfor %}"));
        assertEquals("13", render("{% for x in [1, 2, 3] if x != 2 %}{{ x }}{% endfor %}"));
        assertEquals("12", render("{% for x in [1, 2, 3] %}{% if x == 3 %}{% break %}{% endif %}{{ x }}{% endfor %}"));
        assertEquals(
                "a=1,b=2,",
                render(
                        "{% for k, v in d.items() %}{{ k }}={{ v }},{% endfor %}",
                        Map.of("d", new LinkedHashMap<>(Map.of("a", 1)) {
                            {
                                put("b", 2);
                            }
                        })));
    }

    @Test
    void pythonStringMethods() {
        assertEquals("b", render("{{ 'a</think>b'.split('</think>')[-1] }}"));
        assertEquals("x", render("{{ '\\n\\nx\\n'.strip('\\n') }}"));
        assertEquals("x\n", render("{{ '\\nx\\n'.lstrip() }}", Map.of()));
        assertEquals("True False", render("{{ 'hello'.startswith('he') }} {{ 'hello'.endswith(('x', 'y')) }}"));
        assertEquals("A-B", render("{{ '-'.join(['A', 'B']) }}"));
        assertEquals("HI Hi There", render("{{ 'hi'.upper() }} {{ 'hi there'.title() }}"));
        assertEquals("['a', 'b']", render("{{ ' a  b '.split() }}"));
    }

    @Test
    void filtersAndTests() {
        assertEquals("x", render("{{ '  x \\n' | trim }}"));
        assertEquals("{\"a\": [1, 2], \"b\": \"é\\n\"}", render("{{ {'a': [1, 2], 'b': 'é\\n'} | tojson }}"));
        assertEquals("{\n  \"a\": 1\n}", render("{{ {'a': 1} | tojson(indent=2) }}"));
        assertEquals("d", render("{{ missing | default('d') }}"));
        assertEquals("1,2", render("{{ [{'n': 1}, {'n': 2}] | map(attribute='n') | join(',') }}"));
        assertEquals("[{'k': 1}]", render("{{ [{'k': 1}, {'k': 0}] | selectattr('k') | list }}"));
        assertEquals(
                "yes",
                render(
                        "{% if x is defined and x is string and y is none %}yes{% endif %}",
                        new java.util.HashMap<>(Map.of("x", "s")) {
                            {
                                put("y", null);
                            }
                        }));
        assertEquals("False", render("{{ 1 is string }}"));
        assertEquals("True", render("{{ false is false }}"));
    }

    @Test
    void macrosAndSetBlocks() {
        assertEquals(
                "<b>x</b>!",
                render("{% macro bold(t, end='!') %}<b>{{ t }}</b>{{ end }}{% endmacro %}{{ bold('x') }}"));
        assertEquals("HI", render("{% set s %}hi{% endset %}{{ s | upper }}"));
        assertEquals("1-2", render("{% set a, b = 1, 2 %}{{ a }}-{{ b }}"));
    }

    @Test
    void rawBlocksAreNotInterpreted() {
        assertEquals("{{ x }}", render("{% raw %}{{ x }}{% endraw %}"));
    }

    @Test
    void errorsNameTheirCause() {
        JinjaException raised = assertThrows(JinjaException.class, () -> render("{{ raise_exception('bad roles') }}"));
        assertEquals("bad roles", raised.getMessage());
        assertTrue(assertThrows(JinjaException.class, () -> Template.parse("{% if x %}"))
                .getMessage()
                .contains("endif"));
        assertTrue(assertThrows(JinjaException.class, () -> render("{{ x | nosuchfilter }}"))
                .getMessage()
                .contains("nosuchfilter"));
        assertThrows(JinjaException.class, () -> render("{{ 'a' + 1 }}"));
    }
}
