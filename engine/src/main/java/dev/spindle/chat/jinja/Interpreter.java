package dev.spindle.chat.jinja;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Renders parsed templates with Python Jinja2's semantics, as Hugging Face runs chat templates.
 *
 * <p>Scopes follow Jinja: {@code if} shares its surroundings, each {@code for} iteration and each macro call gets its
 * own scope (so {@code set} inside a loop does not leak out; templates use {@code namespace()} for that), and
 * variables not found anywhere are {@link Undefined}. Two deliberate leniencies, for messages whose content is
 * {@code None} (OpenAI's assistant turns that only call tools): {@code x in None} is false, and a string plus
 * {@code None} is the string.
 */
final class Interpreter {

    private enum Flow {
        NORMAL,
        BREAK,
        CONTINUE
    }

    static final class Scope {
        private final Map<String, Object> vars = new HashMap<>();
        private final Scope parent;

        Scope(Scope parent) {
            this.parent = parent;
        }

        Object lookup(String name) {
            for (Scope s = this; s != null; s = s.parent) {
                if (s.vars.containsKey(name)) {
                    return s.vars.get(name);
                }
            }
            return Undefined.INSTANCE;
        }

        void set(String name, Object value) {
            vars.put(name, value);
        }
    }

    private int depth;

    String render(List<Node> template, Map<String, Object> globals) {
        Scope root = new Scope(null);
        globals.forEach(root::set);
        StringBuilder out = new StringBuilder();
        render(template, new Scope(root), out);
        return out.toString();
    }

    private Flow render(List<Node> nodes, Scope scope, StringBuilder out) {
        for (Node node : nodes) {
            Flow flow = render(node, scope, out);
            if (flow != Flow.NORMAL) {
                return flow;
            }
        }
        return Flow.NORMAL;
    }

    private Flow render(Node node, Scope scope, StringBuilder out) {
        switch (node) {
            case Node.Text t -> out.append(t.text());
            case Node.Output o -> out.append(Values.str(eval(o.expr(), scope)));
            case Node.If n -> {
                for (int i = 0; i < n.conditions().size(); i++) {
                    if (Values.truthy(eval(n.conditions().get(i), scope))) {
                        return render(n.bodies().get(i), scope, out);
                    }
                }
                return render(n.otherwise(), scope, out);
            }
            case Node.For n -> {
                return renderFor(n, scope, out);
            }
            case Node.Set n -> {
                Object value = eval(n.value(), scope);
                if (n.attribute() != null) {
                    Object target = scope.lookup(n.targets().get(0));
                    if (!(target instanceof Namespace ns)) {
                        throw new JinjaException("cannot assign attribute on non-namespace object at line " + n.line());
                    }
                    ns.attributes.put(n.attribute(), value);
                } else {
                    assign(n.targets(), value, scope, n.line());
                }
            }
            case Node.SetBlock n -> {
                StringBuilder body = new StringBuilder();
                render(n.body(), new Scope(scope), body);
                Object value = body.toString();
                for (Expr.Filter f : n.filters()) {
                    value = Filters.apply(
                            this, f.name(), value, evalAll(f.args(), scope), evalKwargs(f.kwargs(), scope));
                }
                scope.set(n.target(), value);
            }
            case Node.Macro n -> scope.set(n.name(), macro(n, scope));
            case Node.FilterBlock n -> {
                StringBuilder body = new StringBuilder();
                render(n.body(), new Scope(scope), body);
                Object value = body.toString();
                for (Expr.Filter f : n.filters()) {
                    value = Filters.apply(
                            this, f.name(), value, evalAll(f.args(), scope), evalKwargs(f.kwargs(), scope));
                }
                out.append(Values.str(value));
            }
            case Node.Break b -> {
                return Flow.BREAK;
            }
            case Node.Continue c -> {
                return Flow.CONTINUE;
            }
        }
        return Flow.NORMAL;
    }

    private static void assign(List<String> targets, Object value, Scope scope, int line) {
        if (targets.size() == 1) {
            scope.set(targets.get(0), value);
            return;
        }
        List<Object> items = Values.iterate(value);
        if (items.size() != targets.size()) {
            throw new JinjaException(
                    "cannot unpack " + items.size() + " values into " + targets.size() + " names at line " + line);
        }
        for (int i = 0; i < targets.size(); i++) {
            scope.set(targets.get(i), items.get(i));
        }
    }

    private Flow renderFor(Node.For n, Scope scope, StringBuilder out) {
        Object iterable = eval(n.iterable(), scope);
        List<Object> items = Values.iterate(iterable);
        if (iterable instanceof Map<?, ?> && n.targets().size() > 1) {
            throw new JinjaException("cannot unpack dict keys; iterate over dict.items() at line " + n.line());
        }
        if (n.filter() != null) {
            List<Object> kept = new ArrayList<>();
            for (Object item : items) {
                Scope probe = new Scope(scope);
                assign(n.targets(), item, probe, n.line());
                if (Values.truthy(eval(n.filter(), probe))) {
                    kept.add(item);
                }
            }
            items = kept;
        }
        if (items.isEmpty()) {
            return render(n.otherwise(), scope, out);
        }
        int length = items.size();
        for (int i = 0; i < length; i++) {
            Scope iteration = new Scope(scope);
            assign(n.targets(), items.get(i), iteration, n.line());
            iteration.set("loop", loop(items, i));
            Flow flow = render(n.body(), iteration, out);
            if (flow == Flow.BREAK) {
                break;
            }
        }
        return Flow.NORMAL;
    }

    private static Map<String, Object> loop(List<Object> items, int i) {
        int length = items.size();
        Map<String, Object> loop = new LinkedHashMap<>();
        loop.put("index", (long) (i + 1));
        loop.put("index0", (long) i);
        loop.put("revindex", (long) (length - i));
        loop.put("revindex0", (long) (length - i - 1));
        loop.put("first", i == 0);
        loop.put("last", i == length - 1);
        loop.put("length", (long) length);
        loop.put("previtem", i > 0 ? items.get(i - 1) : Undefined.INSTANCE);
        loop.put("nextitem", i + 1 < length ? items.get(i + 1) : Undefined.INSTANCE);
        loop.put("depth", 1L);
        loop.put("depth0", 0L);
        loop.put("cycle", (JinjaFunction)
                (args, kwargs) -> args.isEmpty() ? Undefined.INSTANCE : args.get(i % args.size()));
        return Collections.unmodifiableMap(loop);
    }

    private JinjaFunction macro(Node.Macro m, Scope defining) {
        return (args, kwargs) -> {
            if (++depth > 200) {
                depth = 0;
                throw new JinjaException("macro recursion too deep in '" + m.name() + "'");
            }
            try {
                Scope call = new Scope(defining);
                for (int i = 0; i < m.params().size(); i++) {
                    String p = m.params().get(i);
                    Object value;
                    if (i < args.size()) {
                        value = args.get(i);
                    } else if (kwargs.containsKey(p)) {
                        value = kwargs.get(p);
                    } else if (m.defaults().get(i) != null) {
                        value = eval(m.defaults().get(i), call);
                    } else {
                        value = Undefined.INSTANCE;
                    }
                    call.set(p, value);
                }
                call.set(
                        "varargs",
                        args.size() > m.params().size()
                                ? new ArrayList<>(args.subList(m.params().size(), args.size()))
                                : new ArrayList<>());
                StringBuilder body = new StringBuilder();
                render(m.body(), call, body);
                return body.toString();
            } finally {
                depth--;
            }
        };
    }

    List<Object> evalAll(List<Expr> exprs, Scope scope) {
        List<Object> values = new ArrayList<>(exprs.size());
        for (Expr e : exprs) {
            values.add(eval(e, scope));
        }
        return values;
    }

    Map<String, Object> evalKwargs(List<Expr.Keyword> kwargs, Scope scope) {
        if (kwargs.isEmpty()) {
            return Map.of();
        }
        Map<String, Object> values = new LinkedHashMap<>();
        for (Expr.Keyword k : kwargs) {
            values.put(k.name(), eval(k.value(), scope));
        }
        return values;
    }

    Object eval(Expr e, Scope scope) {
        return switch (e) {
            case Expr.Literal l -> l.value();
            case Expr.Name n -> scope.lookup(n.name());
            case Expr.Attribute a -> Members.attribute(eval(a.target(), scope), a.name());
            case Expr.Item i -> Members.item(eval(i.target(), scope), eval(i.key(), scope));
            case Expr.Slice s ->
                Members.slice(
                        eval(s.target(), scope),
                        s.start() == null ? null : eval(s.start(), scope),
                        s.stop() == null ? null : eval(s.stop(), scope),
                        s.step() == null ? null : eval(s.step(), scope));
            case Expr.Call c ->
                call(eval(c.callee(), scope), evalAll(c.args(), scope), evalKwargs(c.kwargs(), scope), c);
            case Expr.Filter f ->
                Filters.apply(
                        this,
                        f.name(),
                        eval(f.value(), scope),
                        evalAll(f.args(), scope),
                        evalKwargs(f.kwargs(), scope));
            case Expr.Test t -> {
                boolean result = Tests.apply(t.name(), eval(t.value(), scope), evalAll(t.args(), scope));
                yield t.negated() != result;
            }
            case Expr.Binary b -> binary(b.op(), eval(b.left(), scope), eval(b.right(), scope), b.line());
            case Expr.Unary u -> {
                Object v = eval(u.operand(), scope);
                if (u.op().equals("+")) {
                    yield v;
                }
                yield v instanceof Long l ? (Object) (-l) : (Object) (-Values.toDouble(v));
            }
            case Expr.Compare c -> {
                Object left = eval(c.first(), scope);
                boolean result = true;
                for (int i = 0; i < c.ops().size() && result; i++) {
                    Object right = eval(c.rest().get(i), scope);
                    result = compare(c.ops().get(i), left, right);
                    left = right;
                }
                yield result;
            }
            case Expr.And a -> {
                Object left = eval(a.left(), scope);
                yield Values.truthy(left) ? eval(a.right(), scope) : left;
            }
            case Expr.Or o -> {
                Object left = eval(o.left(), scope);
                yield Values.truthy(left) ? left : eval(o.right(), scope);
            }
            case Expr.Not n -> !Values.truthy(eval(n.operand(), scope));
            case Expr.Conditional c ->
                Values.truthy(eval(c.condition(), scope))
                        ? eval(c.then(), scope)
                        : c.otherwise() == null ? Undefined.INSTANCE : eval(c.otherwise(), scope);
            case Expr.ListLiteral l -> evalAll(l.items(), scope);
            case Expr.TupleLiteral t -> Collections.unmodifiableList(evalAll(t.items(), scope));
            case Expr.DictLiteral d -> {
                Map<String, Object> map = new LinkedHashMap<>();
                for (int i = 0; i < d.keys().size(); i++) {
                    map.put(
                            Values.str(eval(d.keys().get(i), scope)),
                            eval(d.values().get(i), scope));
                }
                yield map;
            }
        };
    }

    private static Object call(Object callee, List<Object> args, Map<String, Object> kwargs, Expr.Call c) {
        if (callee instanceof JinjaFunction f) {
            return f.call(args, kwargs);
        }
        String what = c.callee() instanceof Expr.Name n
                ? "'" + n.name() + "'"
                : c.callee() instanceof Expr.Attribute a ? "'" + a.name() + "'" : "expression";
        throw new JinjaException(
                what + " is " + (callee instanceof Undefined ? "undefined" : "not callable") + " at line " + c.line());
    }

    private static boolean compare(String op, Object left, Object right) {
        return switch (op) {
            case "==" -> Values.equal(left, right);
            case "!=" -> !Values.equal(left, right);
            case "<" -> Values.compare(left, right) < 0;
            case ">" -> Values.compare(left, right) > 0;
            case "<=" -> Values.compare(left, right) <= 0;
            case ">=" -> Values.compare(left, right) >= 0;
            case "in" -> right != null && Values.contains(right, left);
            case "not in" -> right == null || !Values.contains(right, left);
            default -> throw new JinjaException("unknown comparison " + op);
        };
    }

    static Object binary(String op, Object a, Object b, int line) {
        if (op.equals("~")) {
            return Values.str(a) + Values.str(b);
        }
        if (op.equals("+")) {
            if (a instanceof String x && (b instanceof String || b == null)) {
                return b == null ? x : x + b;
            }
            if (a == null && b instanceof String y) {
                return y;
            }
            if (a instanceof List<?> x && b instanceof List<?> y) {
                List<Object> joined = new ArrayList<>(x);
                joined.addAll(y);
                return joined;
            }
        }
        if (op.equals("*")) {
            if (a instanceof String s && Values.isIntegral(b)) {
                return s.repeat((int) Math.max(0, Values.toLong(b)));
            }
            if (a instanceof List<?> l && Values.isIntegral(b)) {
                List<Object> repeated = new ArrayList<>();
                for (long i = 0; i < Values.toLong(b); i++) {
                    repeated.addAll(l);
                }
                return repeated;
            }
        }
        if (!Values.isNumber(a) || !Values.isNumber(b)) {
            throw new JinjaException("unsupported operand types for " + op + ": '" + Values.typeName(a) + "' and '"
                    + Values.typeName(b) + "' at line " + line);
        }
        boolean integral = Values.isIntegral(a) && Values.isIntegral(b);
        return switch (op) {
            case "+" ->
                integral ? (Object) (Values.toLong(a) + Values.toLong(b)) : Values.toDouble(a) + Values.toDouble(b);
            case "-" ->
                integral ? (Object) (Values.toLong(a) - Values.toLong(b)) : Values.toDouble(a) - Values.toDouble(b);
            case "*" ->
                integral ? (Object) (Values.toLong(a) * Values.toLong(b)) : Values.toDouble(a) * Values.toDouble(b);
            case "/" -> {
                double d = Values.toDouble(b);
                if (d == 0) {
                    throw new JinjaException("division by zero at line " + line);
                }
                yield Values.toDouble(a) / d;
            }
            case "//" -> {
                if (integral) {
                    if (Values.toLong(b) == 0) {
                        throw new JinjaException("integer division by zero at line " + line);
                    }
                    yield Math.floorDiv(Values.toLong(a), Values.toLong(b));
                }
                yield Math.floor(Values.toDouble(a) / Values.toDouble(b));
            }
            case "%" -> {
                if (integral) {
                    if (Values.toLong(b) == 0) {
                        throw new JinjaException("integer modulo by zero at line " + line);
                    }
                    yield Math.floorMod(Values.toLong(a), Values.toLong(b));
                }
                double x = Values.toDouble(a);
                double y = Values.toDouble(b);
                yield x - y * Math.floor(x / y);
            }
            case "**" -> {
                if (integral && Values.toLong(b) >= 0) {
                    long r = 1;
                    for (long i = 0; i < Values.toLong(b); i++) {
                        r *= Values.toLong(a);
                    }
                    yield r;
                }
                yield Math.pow(Values.toDouble(a), Values.toDouble(b));
            }
            default -> throw new JinjaException("unknown operator " + op);
        };
    }
}
